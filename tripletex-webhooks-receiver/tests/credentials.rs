//! Credentials per subscription or company through a `CredentialResolver`:
//! several companies on one route, rotation, unknown subscriptions, resolver
//! failures and the TTL cache (on paused time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, envelope};
use serde_json::json;
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{Credentials, DeliveryIdentity, ResolveError, WebhookConfig};

const HEADER: &str = "X-Tripletex-Token";

/// A subscription's HMAC secrets and header token.
type Secrets = (Vec<&'static str>, &'static str);

/// Subscription id -> its HMAC secrets and header token, as an app's
/// database would hold them; counts lookups and fails on demand.
#[derive(Clone, Default)]
struct Directory {
    subscriptions: Arc<Mutex<HashMap<i64, Secrets>>>,
    lookups: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Directory {
    fn set(&self, subscription: i64, secrets: &[&'static str], token: &'static str) {
        self.subscriptions
            .lock()
            .unwrap()
            .insert(subscription, (secrets.to_vec(), token));
    }

    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    fn config(&self, ttl: Duration) -> WebhookConfig {
        let directory = self.clone();
        WebhookConfig::builder()
            .credential_resolver(move |identity: DeliveryIdentity| {
                let directory = directory.clone();
                async move {
                    directory.lookups.fetch_add(1, Ordering::SeqCst);
                    if directory.down.load(Ordering::SeqCst) {
                        return Err(ResolveError::new("database is down"));
                    }
                    let found = identity
                        .subscription_id()
                        .and_then(|id| directory.subscriptions.lock().unwrap().get(&id).cloned());
                    let Some((secrets, token)) = found else {
                        return Ok(None);
                    };
                    let builder = Credentials::builder().header_auth(HEADER, token);
                    let builder = secrets
                        .iter()
                        .fold(builder, |builder, secret| builder.hmac_secret(*secret));
                    Ok(Some(builder.build()?))
                }
            })
            .credential_cache(ttl, 100)
            .build()
            .unwrap()
    }
}

/// A product update of `subscription`, signed with `secret` and carrying `token`.
fn delivery(subscription: i64, version: i64, secret: &str, token: &str) -> SignedRequest {
    let mut body = envelope(
        "product.update",
        100 + subscription,
        json!({"id": 100 + subscription, "version": version}),
    );
    body["subscriptionId"] = json!(subscription);
    SignedRequest::from_json(&body)
        .with_header(HEADER, token)
        .with_hmac(secret)
}

#[tokio::test]
async fn two_companies_on_one_route_each_with_its_own_secret() {
    let directory = Directory::default();
    directory.set(1, &["acme-secret"], "acme-token");
    directory.set(2, &["globex-secret"], "globex-token");
    let app = TestApp::new(directory.config(Duration::from_secs(60)));

    // Each company's own secret is accepted...
    let ok = app
        .deliver(delivery(1, 1, "acme-secret", "acme-token"))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let ok = app
        .deliver(delivery(2, 1, "globex-secret", "globex-token"))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    // ...the other's is refused, whichever mechanism is swapped.
    for (subscription, secret, token) in [
        (1, "globex-secret", "acme-token"),
        (1, "acme-secret", "globex-token"),
        (2, "acme-secret", "globex-token"),
        (2, "globex-secret", "acme-token"),
    ] {
        let answer = app.deliver(delivery(subscription, 2, secret, token)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{subscription} {secret} {token}"
        );
        assert_eq!(answer.body, "Unauthorized");
    }
    assert_eq!(app.calls().len(), 2);
    assert_eq!(app.config.snapshot().unauthorized, 4);
}

#[tokio::test(start_paused = true)]
async fn a_rotated_secret() {
    let ttl = Duration::from_secs(30);
    let directory = Directory::default();
    directory.set(1, &["old-secret", "new-secret"], "token");
    let app = TestApp::new(directory.config(ttl));
    // During rotation both are accepted.
    let old = app.deliver(delivery(1, 1, "old-secret", "token")).await;
    assert_eq!(old.status, StatusCode::OK);
    let new = app.deliver(delivery(1, 2, "new-secret", "token")).await;
    assert_eq!(new.status, StatusCode::OK);
    // The old one is retired; once the cached answer expires it is refused.
    directory.set(1, &["new-secret"], "token");
    tokio::time::advance(ttl).await;
    let old = app.deliver(delivery(1, 3, "old-secret", "token")).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app.deliver(delivery(1, 3, "new-secret", "token")).await;
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(app.calls().len(), 3);
}

#[tokio::test]
async fn an_unknown_subscription_is_unauthorized_and_never_handled() {
    let directory = Directory::default();
    directory.set(1, &["acme-secret"], "acme-token");
    let app = TestApp::new(directory.config(Duration::from_secs(60)));
    // Known first, so the dummy has its shape (header and one HMAC secret).
    let known = app
        .deliver(delivery(1, 1, "acme-secret", "acme-token"))
        .await;
    assert_eq!(known.status, StatusCode::OK);
    // Unknown, with any secret (even the known one's): 401, like a wrong secret.
    for (secret, token) in [("acme-secret", "acme-token"), ("guess", "guess")] {
        let answer = app.deliver(delivery(9, 1, secret, token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body, "Unauthorized", "nothing says it is unknown");
    }
    // No subscriptionId at all: unknown too.
    let no_id = SignedRequest::from_body(r#"{"event":"product.update","id":5}"#)
        .with_header(HEADER, "acme-token")
        .with_hmac("acme-secret");
    assert_eq!(app.deliver(no_id).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.calls().len(),
        1,
        "the handler ran for the known one only"
    );
    assert_eq!(app.config.snapshot().unauthorized, 3);
}

#[tokio::test]
async fn a_resolver_error_is_503_and_not_cached() {
    let directory = Directory::default();
    directory.set(1, &["acme-secret"], "acme-token");
    let app = TestApp::new(directory.config(Duration::from_secs(60)));
    directory.down.store(true, Ordering::SeqCst);
    let answer = app
        .deliver(delivery(1, 1, "acme-secret", "acme-token"))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, "Service Unavailable", "no detail to the peer");
    assert!(app.calls().is_empty());
    assert_eq!(app.config.snapshot().resolver_failed, 1);
    assert_eq!(app.config.snapshot().unauthorized, 0, "not a 401");
    // The retry asks again (the error was not cached) and is handled.
    directory.down.store(false, Ordering::SeqCst);
    let answer = app
        .deliver(delivery(1, 1, "acme-secret", "acme-token"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(directory.lookups(), 2);
}

#[tokio::test(start_paused = true)]
async fn answers_are_cached_for_the_ttl() {
    let ttl = Duration::from_secs(30);
    let directory = Directory::default();
    directory.set(1, &["acme-secret"], "acme-token");
    let app = TestApp::new(directory.config(ttl));
    for version in 1..=2 {
        let answer = app
            .deliver(delivery(1, version, "acme-secret", "acme-token"))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    assert_eq!(
        directory.lookups(),
        1,
        "two deliveries within the TTL: one lookup"
    );
    // Unknown answers are cached too (a repeated forged id costs one lookup).
    for _ in 0..2 {
        let answer = app.deliver(delivery(7, 1, "x", "y")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(directory.lookups(), 2);
    tokio::time::advance(ttl).await;
    let answer = app
        .deliver(delivery(1, 3, "acme-secret", "acme-token"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(directory.lookups(), 3, "after the TTL: looked up again");
}

#[test]
fn a_resolver_replaces_static_credentials() {
    let error = WebhookConfig::builder()
        .hmac_secret("static")
        .credential_resolver(|_: DeliveryIdentity| async { Ok(None) })
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        tripletex_webhooks_receiver::ConfigError::ResolverAndStatic
    );
}
