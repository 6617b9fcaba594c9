//! Session tokens: created from the consumer and employee tokens, reused,
//! renewed before expiry and after a refusal; never logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use tracing_subscriber::fmt::format::FmtSpan;
use tripletex_webhooks_client::Client;
use wiremock::matchers::{basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{Capture, SESSION_TOKEN, api_error, builder, value};

const CONSUMER: &str = "consumer-secret-token";
const EMPLOYEE: &str = "employee-secret-token";

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn at(time: OffsetDateTime) -> Self {
        Self(Arc::new(AtomicI64::new(time.unix_timestamp())))
    }

    fn set(&self, time: OffsetDateTime) {
        self.0.store(time.unix_timestamp(), Ordering::SeqCst);
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

fn managed(server: &MockServer, clock: &TestClock) -> Client {
    let clock = clock.clone();
    builder(server)
        .consumer_token(CONSUMER)
        .employee_token(EMPLOYEE)
        .clock(move || clock.now())
        .build()
        .unwrap()
}

fn no_authorization(request: &Request) -> bool {
    !request.headers.contains_key("authorization")
}

/// Mounts `:create` for `expiration_date`, answering `token`.
async fn mount_create(server: &MockServer, expiration_date: &str, token: &str, times: u64) {
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .and(query_param("consumerToken", CONSUMER))
        .and(query_param("employeeToken", EMPLOYEE))
        .and(query_param("expirationDate", expiration_date))
        .and(no_authorization)
        .respond_with(value(json!({
            "id": 1, "version": 0, "expirationDate": expiration_date, "token": token
        })))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

async fn mount_events(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path("/v2/event"))
        .and(basic_auth("0", token))
        .respond_with(value(json!({})))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_session_is_created_on_first_use_and_reused() {
    let server = MockServer::start().await;
    // 10:00 + the 3 h margin is still 1 March: expire 2 days later.
    mount_create(&server, "2026-03-03", "session-one", 1).await;
    mount_events(&server, "session-one", 2).await;
    let client = managed(&server, &TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    client.events().list().await.unwrap();
    client.events().list().await.unwrap();
}

#[tokio::test]
async fn a_session_is_renewed_a_margin_before_it_expires() {
    let server = MockServer::start().await;
    mount_create(&server, "2026-03-03", "session-one", 1).await;
    mount_create(&server, "2026-03-05", "session-two", 1).await;
    mount_events(&server, "session-one", 2).await;
    mount_events(&server, "session-two", 1).await;
    let clock = TestClock::at(datetime!(2026-03-01 10:00 UTC));
    let client = managed(&server, &clock);
    client.events().list().await.unwrap();
    // Session one expires at midnight starting 3 March: renewed from 21:00 on.
    clock.set(datetime!(2026-03-02 20:59 UTC));
    client.events().list().await.unwrap();
    clock.set(datetime!(2026-03-02 21:00 UTC));
    client.events().list().await.unwrap();
}

#[tokio::test]
async fn concurrent_requests_share_one_new_session() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(
            value(json!({"expirationDate": "2026-03-03", "token": "session-one"}))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_events(&server, "session-one", 5).await;
    let client = managed(&server, &TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    let calls = (0..5).map(|_| client.events().list());
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
}

#[tokio::test]
async fn a_refused_session_is_renewed_once() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(value(
            json!({"expirationDate": "2026-03-03", "token": "session-one"}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(value(
            json!({"expirationDate": "2026-03-03", "token": "session-two"}),
        ))
        .with_priority(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/event"))
        .and(basic_auth("0", "session-one"))
        .respond_with(api_error(401, 3000, "The session token expired."))
        .expect(1)
        .mount(&server)
        .await;
    mount_events(&server, "session-two", 1).await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription/1"))
        .respond_with(api_error(401, 3000, "Still refused."))
        .expect(2)
        .mount(&server)
        .await;
    let client = managed(&server, &TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    client.events().list().await.unwrap();
    // Refused again after a renewal: the error, not a loop.
    let error = client.subscriptions().get(1).await.unwrap_err();
    assert!(error.is_auth(), "{error}");
}

#[tokio::test]
async fn a_fixed_session_token_is_never_renewed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event"))
        .and(basic_auth("0", SESSION_TOKEN))
        .respond_with(api_error(401, 3000, "Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .session_token(SESSION_TOKEN)
        .build()
        .unwrap();
    let error = client.events().list().await.unwrap_err();
    assert!(error.is_auth(), "{error}");
}

#[tokio::test]
async fn a_refused_creation_is_an_auth_error_without_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(api_error(
            401,
            3000,
            "Invalid consumer token or employee token.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = managed(&server, &TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    let error = client.events().list().await.unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert_eq!(error.path(), Some("/v2/token/session/:create"));
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(CONSUMER) && !shown.contains(EMPLOYEE),
        "{shown}"
    );
}

#[tokio::test]
async fn a_session_answer_without_a_token_is_a_redacted_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(value(
            json!({"expirationDate": "2026-03-03", "encryptionKey": "k-secret"}),
        ))
        .mount(&server)
        .await;
    let client = managed(&server, &TestClock::at(datetime!(2026-03-01 10:00 UTC)));
    let error = client.events().list().await.unwrap_err();
    assert!(error.is_decode(), "{error}");
    assert!(!error.to_string().contains("k-secret"), "{error}");
}

#[tokio::test]
async fn requests_are_traced_without_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    mount_create(&server, "2026-03-03", "session-one", 1).await;
    mount_events(&server, "session-one", 1).await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription/1"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let clock = TestClock::at(datetime!(2026-03-01 10:00 UTC));
    let client = builder(&server)
        .consumer_token(CONSUMER)
        .employee_token(EMPLOYEE)
        .clock(move || clock.now())
        .retry_policy(crate::support::fast_retry().max_attempts(2))
        .build()
        .unwrap();
    client.events().list().await.unwrap();
    let _ = client.subscriptions().get(1).await.unwrap_err();

    let logs = capture.text();
    for expected in [
        "tripletex.request",
        "method=PUT",
        "path=/v2/token/session/:create",
        "path=/v2/event",
        "status=200",
        "request_id=req-ok",
        "status=503",
        "attempts=2",
        "retrying",
    ] {
        assert!(
            logs.contains(expected),
            "{expected:?} missing from:\n{logs}"
        );
    }
    for secret in [CONSUMER, EMPLOYEE, "session-one", "expirationDate"] {
        assert!(!logs.contains(secret), "{secret:?} leaked into:\n{logs}");
    }
}
