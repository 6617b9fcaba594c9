//! Fuzz-style property tests: arbitrary bytes, headers, methods and query
//! strings fed to the framework-free core and to the layer never panic and
//! always answer one of the documented statuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::post;
use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::{
    Admission, Receiver, TripletexWebhookLayer, Webhook, WebhookConfig,
};
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::signature;

/// Every status the receiver itself answers with (the handler here answers 200).
const DOCUMENTED: [u16; 7] = [200, 400, 401, 405, 413, 415, 503];

const SECRET: &str = "fuzz-secret";

fn configs() -> Vec<WebhookConfig> {
    vec![
        WebhookConfig::builder()
            .allow_unauthenticated()
            .body_limit(2048)
            .build()
            .unwrap(),
        WebhookConfig::builder()
            .hmac_secret(SECRET)
            .body_limit(2048)
            .build()
            .unwrap(),
        WebhookConfig::builder()
            .header_auth("x-api-key", "key")
            .basic_auth("user", "pass")
            .query_token("token", "t")
            .hmac_secret(SECRET)
            .hmac_secret("second")
            .build()
            .unwrap(),
    ]
}

#[derive(Debug, Clone)]
struct Input {
    config: usize,
    method: Method,
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    sign: bool,
    handler_succeeds: bool,
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        Just(HeaderName::from_static("content-type")),
        Just(HeaderName::from_static("content-length")),
        Just(HeaderName::from_static("idempotency-key")),
        Just(HeaderName::from_static("x-request-signature")),
        Just(HeaderName::from_static("authorization")),
        Just(HeaderName::from_static("x-api-key")),
        "[a-z][a-z0-9-]{0,12}".prop_map(|name| HeaderName::try_from(name).unwrap()),
    ]
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        Just(HeaderValue::from_static("application/json")),
        Just(HeaderValue::from_static("text/plain")),
        Just(HeaderValue::from_static("key")),
        Just(HeaderValue::from_static("Basic dXNlcjpwYXNz")),
        Just(HeaderValue::from_static("")),
        "[0-9]{1,12}".prop_map(|v| HeaderValue::try_from(v).unwrap()),
        proptest::collection::vec(any::<u8>(), 0..40).prop_filter_map(
            "valid header value",
            |bytes| HeaderValue::from_bytes(&bytes).ok()
        ),
    ]
}

fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let event = prop_oneof![
        Just("product.create"),
        Just("product.update"),
        Just("product.delete"),
        Just("order.delete"),
        Just("invoice.charged"),
        Just("notification.sent"),
        Just("closeGroup.create"),
        Just("timesheetEntry.approve"),
        Just("product"),
        Just(""),
    ];
    let value = prop_oneof![
        Just(serde_json::Value::Null),
        (any::<i64>(), any::<i64>())
            .prop_map(|(id, v)| serde_json::json!({"id": id, "version": v})),
        any::<i64>().prop_map(|id| serde_json::json!({"id": id, "name": id})),
        Just(serde_json::json!({"version": "3"})),
        Just(serde_json::json!([1, 2])),
        any::<String>().prop_map(serde_json::Value::String),
    ];
    (event, any::<i64>(), any::<i32>(), value).prop_map(|(event, id, sub, value)| {
        serde_json::json!({"subscriptionId": sub, "event": event, "id": id % 5, "value": value})
            .to_string()
            .into_bytes()
    })
}

fn input() -> impl Strategy<Value = Input> {
    (
        0..3_usize,
        prop_oneof![8 => Just(Method::POST), 1 => Just(Method::GET), 1 => Just(Method::PUT)],
        proptest::collection::vec(
            (
                prop_oneof![Just("token".to_owned()), "[a-z]{1,5}"],
                any::<String>(),
            ),
            0..3,
        ),
        proptest::collection::vec((header_name(), header_value()), 0..8),
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..3000), json_body(),],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(config, method, query, headers, body, sign, handler_succeeds)| Input {
                config,
                method,
                query,
                headers,
                body,
                sign,
                handler_succeeds,
            },
        )
}

fn request(input: &Input) -> Request<Body> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &input.query {
        query.append_pair(name, value);
    }
    let uri = format!("/hook?{}", query.finish());
    let mut request = Request::new(Body::from(input.body.clone()));
    *request.method_mut() = input.method.clone();
    *request.uri_mut() = uri.parse().unwrap();
    for (name, value) in &input.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    if input.sign {
        let key = request
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let signed = signature::sign(&SecretString::from(SECRET), &key, &input.body);
        request.headers_mut().insert(
            "x-request-signature",
            HeaderValue::try_from(signed).unwrap(),
        );
    }
    request
}

#[test]
fn the_core_never_panics_and_answers_documented_statuses() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let receivers: Vec<Receiver> = configs().into_iter().map(Receiver::new).collect();
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    runner
        .run(&input(), |input| {
            let receiver = &receivers[input.config];
            let (parts, _) = request(&input).into_parts();
            let status = runtime.block_on(async {
                match receiver
                    .receive(&parts, Bytes::from(input.body.clone()))
                    .await
                {
                    Ok(Admission::Deliver(admitted)) => {
                        let (_webhook, commit) = admitted.into_parts();
                        if input.handler_succeeds {
                            commit.success().await.unwrap();
                        } else {
                            commit.failure_detached();
                        }
                        200
                    }
                    Ok(Admission::Acknowledge(webhook)) => {
                        assert!(webhook.delivery().freshness().is_redundant());
                        200
                    }
                    Err(rejection) => {
                        let status = rejection.status().as_u16();
                        let response = rejection.into_response();
                        assert_eq!(response.status().as_u16(), status);
                        status
                    }
                }
            });
            prop_assert!(DOCUMENTED.contains(&status), "status {status}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_layer_never_panics_and_answers_documented_statuses() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let apps: Vec<(Router, WebhookConfig)> = configs()
        .into_iter()
        .map(|config| {
            let router = Router::new()
                .route("/hook", post(|_: Webhook| async { StatusCode::OK }))
                .layer(TripletexWebhookLayer::new(config.clone()));
            (router, config)
        })
        .collect();
    let apps = Arc::new(apps);
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        ..Config::default()
    });
    runner
        .run(&input(), |input| {
            let (router, _) = &apps[input.config];
            let response = runtime
                .block_on(router.clone().oneshot(request(&input)))
                .unwrap();
            let status = response.status().as_u16();
            prop_assert!(DOCUMENTED.contains(&status), "status {status}");
            if status == 401 {
                let body = runtime
                    .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
                    .unwrap();
                prop_assert_eq!(&body[..], b"Unauthorized");
            }
            Ok(())
        })
        .unwrap();
    // Every config saw traffic; the counters add up to something sensible.
    for (_, config) in apps.iter() {
        let s = config.snapshot();
        assert!(s.accepted + s.unauthorized + s.malformed + s.duplicate + s.stale > 0);
    }
}
