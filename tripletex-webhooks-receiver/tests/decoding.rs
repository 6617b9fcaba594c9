//! Body limit, method, content type and every decode error through the layer;
//! unknown events and fields pass, raw bytes reach the handler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use common::{TestApp, envelope, open_config, product};
use serde_json::json;
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_types::{EventPayload, ObjectChange};

fn limited(limit: usize) -> TestApp {
    TestApp::new(
        WebhookConfig::builder()
            .allow_unauthenticated()
            .body_limit(limit)
            .build()
            .unwrap(),
    )
}

/// A valid product update padded with trailing spaces to exactly `len` bytes.
fn padded(len: usize) -> Vec<u8> {
    let mut body = product("product.update", 1, 1).to_string().into_bytes();
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn body_limit_on_content_length_and_while_streaming() {
    let app = limited(256);
    // Exactly at the limit passes.
    let answer = app.deliver(SignedRequest::from_body(padded(256))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // One byte over, declared: refused before reading.
    let request = SignedRequest::from_body(padded(257))
        .with_header("content-length", "257")
        .with_uri("/hook")
        .into_request();
    assert_eq!(
        app.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // A huge declared length with a tiny body: refused on the header alone.
    let request = SignedRequest::from_body("{}")
        .with_header("content-length", "10000000000")
        .with_uri("/hook")
        .into_request();
    assert_eq!(
        app.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Streamed without a length (chunked): refused while reading.
    let chunks: Vec<Result<Bytes, Infallible>> =
        (0..10).map(|_| Ok(Bytes::from(vec![b' '; 100]))).collect();
    let mut request = Request::post("/hook")
        .header("content-type", "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    request.headers_mut().remove("content-length");
    assert_eq!(
        app.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // A lying Content-Length (smaller than the body) is caught while reading too.
    let request = SignedRequest::from_body(padded(300))
        .with_header("content-length", "10")
        .with_uri("/hook")
        .into_request();
    assert_eq!(
        app.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    assert_eq!(app.calls().len(), 1);
    assert_eq!(app.config.snapshot().malformed, 4);
}

#[tokio::test]
async fn the_default_limit_is_one_mebibyte() {
    let app = TestApp::new(open_config());
    assert_eq!(app.config.body_limit(), 1024 * 1024);
    let answer = app
        .deliver(SignedRequest::from_body(padded(1024 * 1024)))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = app
        .deliver(SignedRequest::from_body(padded(1024 * 1024 + 1)))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn only_post_is_accepted() {
    let app = TestApp::new(open_config());
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
        let answer = app
            .deliver(
                SignedRequest::from_json(&product("product.update", 1, 1))
                    .with_method(method.clone()),
            )
            .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.header("allow"), Some("POST"));
    }
}

#[tokio::test]
async fn content_type_must_be_json() {
    let app = TestApp::new(open_config());
    let body = || SignedRequest::from_json(&product("product.update", 1, 1));
    for (request, what) in [
        (body().without_header("content-type"), "missing"),
        (body().with_header("content-type", "text/plain"), "text"),
        (
            body().with_header("content-type", "application/x-www-form-urlencoded"),
            "form",
        ),
        (
            body().with_header("content-type", "application/jsonx"),
            "lookalike",
        ),
        (
            body().append_header("content-type", "application/json"),
            "duplicated",
        ),
    ] {
        let answer = app.deliver(request).await;
        assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{what}");
    }
    assert!(app.calls().is_empty());
    for (version, value) in [
        (1, "application/json; charset=utf-8"),
        (2, "Application/JSON"),
        (3, "application/vnd.tripletex+json"),
    ] {
        let request = SignedRequest::from_json(&product("product.update", 1, version))
            .with_header("content-type", value);
        assert_eq!(app.deliver(request).await.status, StatusCode::OK, "{value}");
    }
}

#[tokio::test]
async fn every_decode_error_is_a_400() {
    let app = TestApp::new(open_config());
    let cases = [
        (b"".to_vec(), "empty body"),
        (b"not json".to_vec(), "not JSON"),
        (b"[1,2,3]".to_vec(), "not an object"),
        (
            br#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":7,"version":1,"version":2}}"#
                .to_vec(),
            "a key repeated in the payload",
        ),
        (
            b"{\"subscriptionId\":1,\"event\":\"product.create\"".to_vec(),
            "truncated JSON",
        ),
        (
            json!({"event": "product.create", "id": 1, "value": {}})
                .to_string()
                .into_bytes(),
            "no subscriptionId",
        ),
        (
            json!({"subscriptionId": 1, "id": 1, "value": {}})
                .to_string()
                .into_bytes(),
            "no event",
        ),
        (
            json!({"subscriptionId": 1, "event": "product.create", "value": {}})
                .to_string()
                .into_bytes(),
            "no id",
        ),
        (
            json!({"subscriptionId": 1, "event": "product.create", "id": "7", "value": {}})
                .to_string()
                .into_bytes(),
            "string id",
        ),
        (
            json!({"subscriptionId": 1, "event": "product", "id": 7, "value": {}})
                .to_string()
                .into_bytes(),
            "event without a verb",
        ),
        (
            json!({"subscriptionId": 1, "event": "product.cre ate", "id": 7, "value": {}})
                .to_string()
                .into_bytes(),
            "invalid event name",
        ),
        (
            envelope("product.delete", 7, json!({"id": 7}))
                .to_string()
                .into_bytes(),
            "delete with a value",
        ),
        (
            envelope("timesheetEntry.delete", 7, json!({"id": 7}))
                .to_string()
                .into_bytes(),
            "unknown delete with a value",
        ),
        (
            envelope("product.create", 7, json!(null))
                .to_string()
                .into_bytes(),
            "create without a value",
        ),
        (
            json!({"subscriptionId": 1, "event": "product.update", "id": 7})
                .to_string()
                .into_bytes(),
            "update with no value key",
        ),
        (
            envelope("invoice.charged", 7, json!(null))
                .to_string()
                .into_bytes(),
            "charged without a value",
        ),
        (
            envelope("product.create", 7, json!({"id": 7, "name": 5}))
                .to_string()
                .into_bytes(),
            "value does not fit the model",
        ),
        (
            envelope("product.create", 7, json!([1]))
                .to_string()
                .into_bytes(),
            "value is not an object",
        ),
        (b"\xff\xfe{}".to_vec(), "not UTF-8"),
    ];
    for (body, what) in cases {
        let answer = app.deliver(SignedRequest::from_body(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(
            answer.body.starts_with("invalid webhook: "),
            "{what}: {}",
            answer.body
        );
    }
    assert!(app.calls().is_empty());
    assert_eq!(app.config.snapshot().malformed, 19);
    let bad_key = SignedRequest::from_json(&product("product.update", 1, 1))
        .without_idempotency_key()
        .with_header("idempotency-key", "one")
        .append_header("idempotency-key", "another");
    assert_eq!(app.deliver(bad_key).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_events_and_fields_pass_with_the_raw_bytes() {
    let app = TestApp::new(open_config());
    // Whitespace and key order as sent: the handler gets these exact bytes.
    let body = br#"{ "value": {"id": 3, "version": 1, "hours": 7.5},
                     "event": "timesheetEntry.approve", "subscriptionId": 9, "id": 3 }"#;
    let answer = app.deliver(SignedRequest::from_body(&body[..])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let product_body = envelope(
        "product.create",
        8,
        json!({"id": 8, "version": 0, "name": "New", "brandNewField": {"nested": true}}),
    );
    let answer = app.deliver(SignedRequest::from_json(&product_body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let calls = app.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].raw_body, body);
    assert_eq!(calls[0].event, "timesheetEntry.approve");
    match &calls[0].webhook.event().payload {
        EventPayload::Unknown(raw) => assert_eq!(raw["hours"], 7.5),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls[0].version, Some(1), "dedup still sees the version");
    match &calls[1].webhook.event().payload {
        EventPayload::Product(ObjectChange::Created(product)) => {
            assert_eq!(product.extra["brandNewField"], json!({"nested": true}));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(calls[1].raw_body, product_body.to_string().as_bytes());
}

#[tokio::test]
async fn the_inner_service_also_gets_the_raw_body() {
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt as _;
    use tripletex_webhooks_receiver::TripletexWebhookLayer;

    let app = Router::new()
        .route(
            "/hook",
            post(|body: Bytes| async move { (StatusCode::OK, body) }),
        )
        .layer(TripletexWebhookLayer::new(open_config()));
    let body = product("product.update", 1, 1).to_string();
    let request = SignedRequest::from_body(body.clone())
        .with_uri("/hook")
        .into_request();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(echoed, body.as_bytes());
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_500() {
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt as _;
    use tripletex_webhooks_receiver::Webhook;

    let app = Router::new().route("/hook", post(|_: Webhook| async { StatusCode::OK }));
    let request = SignedRequest::from_json(&product("product.update", 1, 1))
        .with_uri("/hook")
        .into_request();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
