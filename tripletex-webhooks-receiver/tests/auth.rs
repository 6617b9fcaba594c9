//! Authentication through the layer (`tower::ServiceExt::oneshot`): every
//! mechanism, every failure, rotation, and what a failure reveals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, product};
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::signature;

const HEADER: &str = "X-Tripletex-Token";
const TOKEN: &str = "Bearer abc123";
const USER: &str = "hook-user";
const PASSWORD: &str = "p@ss:w0rd";
const QUERY_TOKEN: &str = "secret 123&x";
const SECRET: &str = "a-very-shared-secret";

/// Every mechanism required at once.
fn all_mechanisms() -> TestApp {
    TestApp::new(
        WebhookConfig::builder()
            .header_auth(HEADER, TOKEN)
            .basic_auth(USER, PASSWORD)
            .query_token("token", QUERY_TOKEN)
            .hmac_secret(SECRET)
            .build()
            .unwrap(),
    )
}

/// A request passing every mechanism of [`all_mechanisms`].
fn valid() -> SignedRequest {
    SignedRequest::from_json(&product("product.update", 7, 3))
        .with_uri("/hook")
        .with_query("token", QUERY_TOKEN)
        .with_header(HEADER, TOKEN)
        .with_basic(USER, PASSWORD)
        .with_hmac(SECRET)
}

async fn send(app: &TestApp, request: SignedRequest) -> common::Answer {
    app.send(request.into_request()).await
}

/// Asserts a 401 that says nothing about why, challenges for Basic when
/// configured, and did not reach the handler.
async fn assert_unauthorized(app: &TestApp, request: SignedRequest, what: &str) {
    let calls = app.calls().len();
    let answer = send(app, request).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(
        answer.body, "Unauthorized",
        "{what}: the body reveals nothing"
    );
    assert_eq!(app.calls().len(), calls, "{what}: the handler must not run");
}

#[tokio::test]
async fn all_mechanisms_together() {
    let app = all_mechanisms();
    let answer = send(&app, valid()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(app.calls().len(), 1);
    assert_eq!(app.config.snapshot().accepted, 1);
}

#[tokio::test]
async fn every_mechanism_is_required() {
    let app = all_mechanisms();
    assert_unauthorized(&app, valid().without_header(HEADER), "no custom header").await;
    assert_unauthorized(&app, valid().without_header("authorization"), "no Basic").await;
    assert_unauthorized(
        &app,
        valid().with_uri("/hook"),
        "no query token (the URI was reset)",
    )
    .await;
    assert_unauthorized(
        &app,
        valid().without_header("x-request-signature").with_hmac(""),
        "signed with an empty secret",
    )
    .await;
    let unsigned = SignedRequest::from_json(&product("product.update", 7, 3))
        .with_uri("/hook")
        .with_query("token", QUERY_TOKEN)
        .with_header(HEADER, TOKEN)
        .with_basic(USER, PASSWORD);
    assert_unauthorized(&app, unsigned, "no signature").await;
    let snapshot = app.config.snapshot();
    assert_eq!(snapshot.unauthorized, 5);
    assert_eq!(snapshot.accepted, 0);
}

#[tokio::test]
async fn basic_is_challenged_and_other_mechanisms_are_not() {
    let app = all_mechanisms();
    let answer = send(&app, valid().with_basic(USER, "wrong")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let challenge = answer.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic realm="), "{challenge}");

    let header_only = TestApp::new(
        WebhookConfig::builder()
            .header_auth(HEADER, TOKEN)
            .build()
            .unwrap(),
    );
    let answer = header_only
        .deliver(SignedRequest::from_json(&product("product.update", 7, 3)))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("www-authenticate"), None);
}

#[tokio::test]
async fn custom_header_failures() {
    let app = all_mechanisms();
    for (value, what) in [
        ("", "empty"),
        ("Bearer abc12", "truncated"),
        ("Bearer abc1234", "too long"),
        ("bearer abc123", "wrong case"),
        ("BEARER ABC123", "upper case"),
        ("Bearer abc124", "one character off"),
    ] {
        assert_unauthorized(&app, valid().with_header(HEADER, value), what).await;
    }
    assert_unauthorized(
        &app,
        valid().append_header(HEADER, TOKEN),
        "duplicated, even with the right value twice",
    )
    .await;
    assert_unauthorized(
        &app,
        valid().append_header(HEADER, "other"),
        "duplicated with a wrong second value",
    )
    .await;
    // Header *names* are case-insensitive in HTTP.
    for name in ["x-tripletex-token", "X-TRIPLETEX-TOKEN"] {
        let answer = send(
            &app,
            valid().without_header(HEADER).with_header(name, TOKEN),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn basic_failures() {
    let app = all_mechanisms();
    let raw = |value: &str| valid().with_header("authorization", value);
    let encoded = STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for (request, what) in [
        (valid().with_basic(USER, "wrong"), "wrong password"),
        (valid().with_basic("someone", PASSWORD), "wrong user"),
        (valid().with_basic(USER, ""), "empty password"),
        (valid().with_basic("", ""), "empty credentials"),
        (valid().with_basic(USER, "p@ss:w0r"), "truncated password"),
        (valid().with_basic(USER, "P@SS:W0RD"), "wrong case password"),
        (raw(""), "empty header"),
        (raw("Basic"), "scheme only"),
        (raw("Basic "), "empty credentials part"),
        (
            raw(&format!("Basic {}", &encoded[..encoded.len() - 4])),
            "truncated base64",
        ),
        (raw(&format!("Bearer {encoded}")), "another scheme"),
        (raw("Basic not-base64!"), "not base64"),
        (raw(&format!("Basic {}", STANDARD.encode(USER))), "no colon"),
        (
            valid().append_header("authorization", &format!("Basic {encoded}")),
            "duplicated",
        ),
    ] {
        assert_unauthorized(&app, request, what).await;
    }
    let answer = send(&app, raw(&format!("basic {encoded}"))).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn query_token_failures() {
    let app = all_mechanisms();
    let with_query = |query: &str| {
        let request = valid();
        // Rebuild the URI with an explicit query string.
        request.with_uri(&format!("/hook?{query}"))
    };
    for (query, what) in [
        ("", "empty query"),
        ("token=", "empty token"),
        ("token=secret%20123", "truncated"),
        ("token=SECRET%20123%26x", "wrong case"),
        ("Token=secret%20123%26x", "wrong-case parameter name"),
        ("tok=secret%20123%26x", "another parameter"),
        (
            "token=secret%20123%26x&token=secret%20123%26x",
            "duplicated",
        ),
    ] {
        assert_unauthorized(&app, with_query(query), what).await;
    }
    for query in ["token=secret+123%26x", "a=1&token=secret%20123%26x&b=2"] {
        let answer = send(&app, with_query(query)).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");
    }
}

#[tokio::test]
async fn signature_failures() {
    let app = all_mechanisms();
    let body = valid().body().clone();
    let good = signature::sign(&SecretString::from(SECRET), "key-1", &body);
    // Every mechanism right, and this signature header as given.
    let by_hand = |signature: &str| {
        SignedRequest::from_body(body.clone())
            .with_uri("/hook")
            .with_query("token", QUERY_TOKEN)
            .with_header(HEADER, TOKEN)
            .with_basic(USER, PASSWORD)
            .with_idempotency_key("key-1")
            .with_header("x-request-signature", signature)
    };
    assert_eq!(send(&app, by_hand(&good)).await.status, StatusCode::OK);
    for (signature, what) in [
        (String::new(), "empty"),
        ("   ".to_owned(), "blank"),
        (good[..good.len() / 2].to_owned(), "truncated"),
        (
            good[..good.len() - 4].to_owned(),
            "truncated by one base64 block",
        ),
        (good.to_lowercase(), "wrong case"),
        (format!("{good}AAAA"), "too long"),
        ("not base64!".to_owned(), "garbage"),
        (
            signature::sign(&SecretString::from("another-secret"), "key-1", &body),
            "another secret",
        ),
        (
            signature::sign(&SecretString::from(SECRET), "key-2", &body),
            "another idempotency key",
        ),
        (
            signature::sign(&SecretString::from(SECRET), "key-1", b"{}"),
            "another body",
        ),
    ] {
        assert_unauthorized(&app, by_hand(&signature), what).await;
    }
    assert_unauthorized(
        &app,
        by_hand(&good).append_header("x-request-signature", &good),
        "duplicated signature",
    )
    .await;
    assert_unauthorized(
        &app,
        by_hand(&good).without_idempotency_key(),
        "no idempotency key",
    )
    .await;
    assert_unauthorized(
        &app,
        by_hand(&good)
            .without_idempotency_key()
            .with_header("idempotency-key", "key-1")
            .append_header("idempotency-key", "key-1"),
        "duplicated idempotency key",
    )
    .await;
    // The body is verified as received: one changed byte fails.
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let request = SignedRequest::from_body(tampered)
        .with_uri("/hook")
        .with_query("token", QUERY_TOKEN)
        .with_header(HEADER, TOKEN)
        .with_basic(USER, PASSWORD)
        .with_idempotency_key("key-1")
        .with_header("x-request-signature", &good);
    assert_unauthorized(&app, request, "tampered body").await;
}

#[tokio::test]
async fn secrets_rotate() {
    let app = TestApp::new(
        WebhookConfig::builder()
            .header_auth(HEADER, "old-token")
            .header_auth(HEADER, "new-token")
            .hmac_secret("old-secret")
            .hmac_secret("new-secret")
            .basic_auth("old-user", "old-password")
            .basic_auth("new-user", "new-password")
            .build()
            .unwrap(),
    );
    let request = |version: i64, token: &str, secret: &str, user: &str, password: &str| {
        SignedRequest::from_json(&product("product.update", 7, version))
            .with_header(HEADER, token)
            .with_hmac(secret.to_owned())
            .with_basic(user, password)
    };
    let mut version = 0;
    for token in ["old-token", "new-token"] {
        for secret in ["old-secret", "new-secret"] {
            for (user, password) in [("old-user", "old-password"), ("new-user", "new-password")] {
                version += 1;
                let answer = app
                    .deliver(request(version, token, secret, user, password))
                    .await;
                assert_eq!(answer.status, StatusCode::OK, "{token} {secret} {user}");
            }
        }
    }
    for (token, secret, user, password, what) in [
        (
            "third-token",
            "new-secret",
            "new-user",
            "new-password",
            "unknown token",
        ),
        (
            "new-token",
            "third-secret",
            "new-user",
            "new-password",
            "unknown secret",
        ),
        (
            "new-token",
            "new-secret",
            "old-user",
            "new-password",
            "mixed Basic pairs",
        ),
    ] {
        version += 1;
        let answer = app
            .deliver(request(version, token, secret, user, password))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
    }
    assert_eq!(app.calls().len(), 8);
}

#[tokio::test]
async fn authentication_comes_before_everything_else() {
    let app = TestApp::new(
        WebhookConfig::builder()
            .header_auth(HEADER, TOKEN)
            .body_limit(64)
            .build()
            .unwrap(),
    );
    // Unauthenticated: 401 whatever else is wrong (method, type, size, body).
    for request in [
        SignedRequest::from_body("not json").with_method(axum::http::Method::GET),
        SignedRequest::from_body("x".repeat(10_000)),
        SignedRequest::from_body("{}").with_header("content-type", "text/plain"),
        SignedRequest::from_json(&product("product.delete", 1, 1)),
    ] {
        let answer = app.deliver(request).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let snapshot = app.config.snapshot();
    assert_eq!((snapshot.unauthorized, snapshot.malformed), (4, 0));
    assert_eq!(
        app.config
            .store()
            .seen(&tripletex_webhooks_receiver::DedupKey::Object(
                tripletex_webhooks_types::ObjectKey {
                    subject: tripletex_webhooks_types::Subject::Product,
                    id: 1,
                },
            ))
            .await
            .unwrap(),
        None,
        "nothing stored"
    );
}
