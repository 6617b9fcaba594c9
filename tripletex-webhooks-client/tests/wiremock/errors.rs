//! Every kind of error, and what it carries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use test_support::net::RefusingPort;
use tripletex_webhooks_client::types::ErrorCode;
use tripletex_webhooks_client::{Client, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{SESSION_TOKEN, api_error, builder, client};

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription/7"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn get_error(server: &MockServer) -> tripletex_webhooks_client::Error {
    client(server).subscriptions().get(7).await.unwrap_err()
}

#[tokio::test]
async fn not_found_carries_the_api_error_and_request_id() {
    let server = answering(api_error(404, 6000, "Object not found")).await;
    let error = get_error(&server).await;
    assert!(error.is_api() && error.is_not_found(), "{error}");
    assert!(!error.is_conflict() && !error.is_auth() && !error.is_rate_limited());
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(error.request_id(), Some("req-err"));
    assert_eq!(error.api_error().unwrap().code, ErrorCode::NotFound);
    assert_eq!(error.path(), Some("/v2/event/subscription/7"));
    assert_eq!(
        error.to_string(),
        "GET /v2/event/subscription/7: Tripletex answered with an error (404 Not Found): \
         Tripletex API error 404 (code 6000): Object not found [request id req-err]"
    );
}

#[tokio::test]
async fn conflicts_auth_and_validation() {
    let conflict = answering(api_error(409, 8000, "Revision conflict")).await;
    let error = get_error(&conflict).await;
    assert!(error.is_conflict(), "{error}");
    assert_eq!(error.api_error().unwrap().code, ErrorCode::Revision);

    for status in [401, 403] {
        let refused = answering(api_error(status, 3000, "Unauthorized")).await;
        assert!(get_error(&refused).await.is_auth(), "{status}");
    }

    let invalid = answering(ResponseTemplate::new(422).set_body_json(json!({
        "status": 422, "code": 18000, "message": "Validation failed.",
        "validationMessages": [{"field": "targetUrl", "message": "Must be absolute."}],
        "requestId": "in-body"
    })))
    .await;
    let error = get_error(&invalid).await;
    let api = error.api_error().unwrap();
    assert_eq!(
        api.validation_messages()[0].field.as_deref(),
        Some("targetUrl")
    );
    assert_eq!(
        error.request_id(),
        Some("in-body"),
        "from the body without the header"
    );
    assert!(
        error.to_string().contains("targetUrl: Must be absolute."),
        "{error}"
    );
}

#[tokio::test]
async fn an_error_status_without_an_api_error_keeps_a_snippet() {
    let server = answering(
        ResponseTemplate::new(500).set_body_string("<html>Internal proxy failure</html>"),
    )
    .await;
    let error = get_error(&server).await;
    assert!(error.is_api(), "{error}");
    assert!(error.api_error().is_none());
    assert_eq!(
        error.body_snippet(),
        Some("<html>Internal proxy failure</html>")
    );
}

#[tokio::test]
async fn rate_limited_carries_the_reset() {
    let server =
        answering(api_error(429, 0, "Too many requests").insert_header("X-Rate-Limit-Reset", "42"))
            .await;
    let client = builder(&server)
        .session_token(SESSION_TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.subscriptions().get(7).await.unwrap_err();
    assert!(error.is_rate_limited() && !error.is_api(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(42)));
    assert!(error.to_string().contains("resets in 42s"), "{error}");
}

#[tokio::test]
async fn undecodable_successes_are_decode_errors_with_a_snippet() {
    let server = answering(
        ResponseTemplate::new(200)
            .insert_header("x-tlx-request-id", "req-bad")
            .set_body_string(r#"{"value": {"id": "not a number"}}"#),
    )
    .await;
    let error = get_error(&server).await;
    assert!(error.is_decode(), "{error}");
    assert_eq!(error.status(), Some(StatusCode::OK));
    assert_eq!(error.request_id(), Some("req-bad"));
    assert!(error.body_snippet().unwrap().contains("not a number"));
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn slow_answers_time_out() {
    let server = answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"value": {}}))
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let client = builder(&server)
        .session_token(SESSION_TOKEN)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let error = client.subscriptions().get(7).await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "timeouts are not retried"
    );
}

#[tokio::test]
async fn refused_connections_are_transport_errors() {
    let refusing = RefusingPort::bind();
    let client = Client::builder()
        .base_url(format!("http://{}/v2", refusing.addr()))
        .session_token(SESSION_TOKEN)
        .retry_policy(crate::support::fast_retry().max_attempts(2))
        .build()
        .unwrap();
    let error = client.subscriptions().get(7).await.unwrap_err();
    assert!(error.is_transport(), "{error}");
    assert_eq!(error.status(), None);
    let message = error.to_string();
    assert!(
        message.starts_with("GET /v2/event/subscription/7: the request failed"),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("connection refused"),
        "the cause is shown: {message}"
    );
    assert!(!error.to_string().contains(SESSION_TOKEN));
}
