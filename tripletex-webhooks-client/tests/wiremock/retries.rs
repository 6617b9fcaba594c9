//! Retries: which statuses and methods, `X-Rate-Limit-Reset`, bounds, and
//! connection errors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::{Client, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{SESSION_TOKEN, api_error, builder, client, fast_retry, subscription, value};

const GET_PATH: &str = "/v2/event/subscription/7";

/// Answers `first` `times` times, then 200 with a subscription.
async fn failing_then_ok(
    verb: &str,
    route: &str,
    first: ResponseTemplate,
    times: u64,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(first)
        .up_to_n_times(times)
        .expect(times)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(value(subscription(7, "product.create")))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

fn with_policy(server: &MockServer, policy: RetryPolicy) -> Client {
    builder(server)
        .session_token(SESSION_TOKEN)
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn gateway_errors_are_retried_for_get_put_and_delete() {
    for status in [502, 503, 504] {
        let server = failing_then_ok("GET", GET_PATH, ResponseTemplate::new(status), 2).await;
        client(&server).subscriptions().get(7).await.unwrap();
    }
    let server = failing_then_ok("PUT", GET_PATH, ResponseTemplate::new(503), 1).await;
    client(&server).subscriptions().reenable(7).await.unwrap();

    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(GET_PATH))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(GET_PATH))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    client(&server).subscriptions().delete(7).await.unwrap();
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    for status in [400, 404, 409, 422, 500] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(GET_PATH))
            .respond_with(api_error(status, 1000, "no"))
            .expect(1)
            .mount(&server)
            .await;
        let error = client(&server).subscriptions().get(7).await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(GET_PATH))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let client = with_policy(&server, fast_retry().max_attempts(3));
    let error = client.subscriptions().get(7).await.unwrap_err();
    assert!(error.is_api(), "{error}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test]
async fn post_is_retried_only_when_asked() {
    let new = NewSubscription::new(
        "product.create".parse().unwrap(),
        "https://example.com/hooks",
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/event/subscription"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server)
        .subscriptions()
        .create(&new)
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    server.verify().await;

    let server = failing_then_ok(
        "POST",
        "/v2/event/subscription",
        ResponseTemplate::new(503),
        1,
    )
    .await;
    let client = with_policy(&server, fast_retry().retry_post(true));
    assert_eq!(
        client.subscriptions().create(&new).await.unwrap().id,
        Some(7)
    );
}

#[tokio::test]
async fn a_rate_limit_reset_replaces_the_backoff() {
    // The backoff is ten minutes: finishing within half of it means the
    // header's 0 s was used instead.
    let limited = api_error(429, 0, "Too many").insert_header("X-Rate-Limit-Reset", "0");
    let server = failing_then_ok("GET", GET_PATH, limited, 1).await;
    let slow_backoff = fast_retry()
        .initial_backoff(Duration::from_secs(600))
        .max_backoff(Duration::from_secs(600));
    let client = with_policy(&server, slow_backoff);
    tokio::time::timeout(Duration::from_secs(300), client.subscriptions().get(7))
        .await
        .expect("the reset replaced the ten-minute backoff")
        .unwrap();

    // One second left in the period: waited for.
    let limited = api_error(429, 0, "Too many").insert_header("X-Rate-Limit-Reset", "1");
    let server = failing_then_ok("GET", GET_PATH, limited, 1).await;
    let client = with_policy(&server, fast_retry());
    let started = Instant::now();
    client.subscriptions().get(7).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_rate_limit_without_a_reset_falls_back_to_backoff() {
    let server = failing_then_ok("GET", GET_PATH, api_error(429, 0, "Too many"), 2).await;
    // Two retries after 400 ms and 800 ms (no jitter): at least 1.2 s waited.
    let backoff = fast_retry()
        .initial_backoff(Duration::from_millis(400))
        .max_backoff(Duration::from_millis(800));
    let client = with_policy(&server, backoff);
    let started = Instant::now();
    client.subscriptions().get(7).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1200), "{waited:?}");
}

#[tokio::test]
async fn a_reset_beyond_the_longest_wait_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(GET_PATH))
        .respond_with(api_error(429, 0, "Too many").insert_header("X-Rate-Limit-Reset", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server).subscriptions().get(7).await.unwrap_err();
    assert!(error.is_rate_limited(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
}

/// Resolves every name to 127.0.0.1 (the port is the URL's), counting the
/// look-ups: reqwest looks the host up once per connection attempt.
struct CountingResolver(watch::Sender<usize>);

impl Resolve for CountingResolver {
    fn resolve(&self, _name: Name) -> Resolving {
        self.0.send_modify(|lookups| *lookups += 1);
        let addrs: Addrs = Box::new(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))));
        Box::pin(async move { Ok(addrs) })
    }
}

#[tokio::test]
async fn connection_errors_are_retried_until_the_server_is_up() {
    // The port is bound but not listening: connections to it are refused
    // until the server starts listening on it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let port = socket.local_addr().unwrap().port();
    let (lookups, mut attempts) = watch::channel(0);
    let http = reqwest::Client::builder()
        .dns_resolver(Arc::new(CountingResolver(lookups)))
        .no_proxy()
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(format!("http://late-server.test:{port}/v2"))
        .http_client(http)
        .session_token(SESSION_TOKEN)
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(100)
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let call = tokio::spawn(async move { client.subscriptions().get(7).await });

    // A second connection attempt: the first was refused, and retried.
    tokio::time::timeout(Duration::from_secs(10), attempts.wait_for(|n| *n >= 2))
        .await
        .expect("timed out waiting for a second connection attempt")
        .expect("the client gave up after the refused connection");
    let late_server = tokio::spawn(async move {
        let listener = socket.listen(16).unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the client hung up");
            request.extend_from_slice(&buffer[..read]);
        }
        let body = json!({"value": subscription(7, "product.create")}).to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let subscription = call.await.unwrap().unwrap();
    assert_eq!(subscription.id, Some(7));
    let request = late_server.await.unwrap();
    assert!(
        request.starts_with("GET /v2/event/subscription/7 HTTP/1.1"),
        "{request}"
    );
}
