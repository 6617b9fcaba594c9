//! The layer in a real axum server over TCP, driven by reqwest: every auth
//! mechanism, duplicated headers on the wire, body limits on a declared and a
//! chunked body, content type, decoding, dedup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::{TestApp, envelope, product};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::signature;

const SECRET: &str = "shared-secret";

struct Served {
    app: TestApp,
    url: String,
    http: reqwest::Client,
}

async fn serve(config: WebhookConfig) -> Served {
    let app = TestApp::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Served {
        app,
        url,
        http: reqwest::Client::new(),
    }
}

fn full_config() -> WebhookConfig {
    WebhookConfig::builder()
        .header_auth("X-Api-Key", "key-abc")
        .basic_auth("hook-user", "p@ss")
        .query_token("token", "secret123")
        .hmac_secret(SECRET)
        .body_limit(4096)
        .build()
        .unwrap()
}

/// The headers Tripletex sends, signed.
fn signed_headers(key: &str, body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-api-key", HeaderValue::from_static("key-abc"));
    headers.insert("idempotency-key", HeaderValue::from_str(key).unwrap());
    let signed = signature::sign(&SecretString::from(SECRET), key, body);
    headers.insert(
        "x-request-signature",
        HeaderValue::from_str(&signed).unwrap(),
    );
    headers
}

impl Served {
    async fn post(
        &self,
        query: &str,
        headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String, HeaderMap) {
        let response = self
            .http
            .post(format!("{}{query}", self.url))
            .basic_auth("hook-user", Some("p@ss"))
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }
}

#[tokio::test]
async fn every_mechanism_over_the_wire() {
    let served = serve(full_config()).await;
    let body = product("product.update", 7, 1).to_string();
    let (status, text, _) = served
        .post(
            "?token=secret123",
            signed_headers("k-1", body.as_bytes()),
            body.clone(),
        )
        .await;
    assert_eq!(status, 200, "{text}");

    // Each mechanism wrong in turn.
    let (status, text, headers) = served
        .post(
            "?token=wrong",
            signed_headers("k-1", body.as_bytes()),
            body.clone(),
        )
        .await;
    assert_eq!((status, text.as_str()), (401, "Unauthorized"));
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let mut wrong_key = signed_headers("k-1", body.as_bytes());
    wrong_key.insert("x-api-key", HeaderValue::from_static("key-abd"));
    assert_eq!(
        served
            .post("?token=secret123", wrong_key, body.clone())
            .await
            .0,
        401
    );
    let mut duplicated = signed_headers("k-1", body.as_bytes());
    duplicated.append("x-api-key", HeaderValue::from_static("key-abc"));
    assert_eq!(
        served
            .post("?token=secret123", duplicated, body.clone())
            .await
            .0,
        401
    );
    let mut duplicated_signature = signed_headers("k-1", body.as_bytes());
    let signature = duplicated_signature["x-request-signature"].clone();
    duplicated_signature.append("x-request-signature", signature);
    assert_eq!(
        served
            .post("?token=secret123", duplicated_signature, body.clone())
            .await
            .0,
        401
    );
    let tampered = body.replace("v1", "v2");
    assert_eq!(
        served
            .post(
                "?token=secret123",
                signed_headers("k-1", body.as_bytes()),
                tampered
            )
            .await
            .0,
        401
    );
    let wrong_basic = served
        .http
        .post(format!("{}?token=secret123", served.url))
        .basic_auth("hook-user", Some("P@SS"))
        .headers(signed_headers("k-1", body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_basic.status().as_u16(), 401);
    assert_eq!(served.app.calls().len(), 1);
    assert_eq!(served.app.config.snapshot().unauthorized, 6);
}

#[tokio::test]
async fn body_limits_over_the_wire() {
    let served = serve(full_config()).await;
    // Declared: refused on Content-Length.
    let big = " ".repeat(5000);
    let (status, _, _) = served
        .post(
            "?token=secret123",
            signed_headers("k-1", big.as_bytes()),
            big.clone(),
        )
        .await;
    assert_eq!(status, 413);
    // Chunked, no Content-Length: refused while reading.
    let chunks: Vec<Result<Bytes, Infallible>> =
        (0..50).map(|_| Ok(Bytes::from(vec![b' '; 200]))).collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, _, _) = served
        .post(
            "?token=secret123",
            signed_headers("k-2", big.as_bytes()),
            stream,
        )
        .await;
    assert_eq!(status, 413);
    assert!(served.app.calls().is_empty());
    assert_eq!(served.app.config.snapshot().malformed, 2);
}

#[tokio::test]
async fn content_type_decoding_and_dedup_over_the_wire() {
    let served = serve(full_config()).await;
    let send = |body: String, key: &'static str, content_type: &'static str| {
        let mut headers = signed_headers(key, body.as_bytes());
        headers.insert("content-type", HeaderValue::from_static(content_type));
        let served = &served;
        async move { served.post("?token=secret123", headers, body).await.0 }
    };
    let update = product("product.update", 3, 2).to_string();
    assert_eq!(send(update.clone(), "a", "text/plain").await, 415);
    assert_eq!(send("{".into(), "b", "application/json").await, 400);
    let delete_with_value = envelope("product.delete", 3, json!({"id": 3})).to_string();
    assert_eq!(send(delete_with_value, "c", "application/json").await, 400);
    assert_eq!(send(update.clone(), "d", "application/json").await, 200);
    assert_eq!(
        send(update, "e", "application/json; charset=utf-8").await,
        200
    );
    assert_eq!(
        send(
            product("product.update", 3, 1).to_string(),
            "f",
            "application/json"
        )
        .await,
        200
    );
    assert_eq!(served.app.calls().len(), 1);
    let snapshot = served.app.config.snapshot();
    assert_eq!(
        (
            snapshot.malformed,
            snapshot.accepted,
            snapshot.duplicate,
            snapshot.stale
        ),
        (3, 1, 1, 1)
    );
}
