//! Both stores behind the layer: the bounded memory store, the SQLite store
//! across a restart, and one store shared by two receivers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, envelope, product};
use serde_json::json;
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
#[cfg(feature = "sqlite")]
use tripletex_webhooks_receiver::store::SqliteStore;
use tripletex_webhooks_receiver::store::{DedupStore, MemoryStore};
use tripletex_webhooks_receiver::test_util::SignedRequest;

fn app_with(store: impl DedupStore + 'static) -> TestApp {
    TestApp::new(
        WebhookConfig::builder()
            .hmac_secret("secret")
            .store(store)
            .build()
            .unwrap(),
    )
}

async fn deliver(app: &TestApp, body: &serde_json::Value) -> StatusCode {
    app.deliver(SignedRequest::from_json(body).with_hmac("secret"))
        .await
        .status
}

/// The dedup scenario every store must get right.
async fn scenario(store: impl DedupStore + 'static) {
    let app = app_with(store);
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 3)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &envelope("product.delete", 7, json!(null))).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 6)).await,
        StatusCode::OK
    );
    let unversioned = SignedRequest::from_json(&envelope("order.update", 1, json!({"id": 1})))
        .with_idempotency_key("key-1")
        .with_hmac("secret");
    assert_eq!(
        app.deliver(unversioned.clone()).await.status,
        StatusCode::OK
    );
    assert_eq!(app.deliver(unversioned).await.status, StatusCode::OK);
    let events: Vec<_> = app
        .calls()
        .iter()
        .map(|c| (c.event.clone(), c.version))
        .collect();
    assert_eq!(
        events,
        [
            ("product.update".to_owned(), Some(5)),
            ("product.delete".to_owned(), None),
            ("order.update".to_owned(), None),
        ]
    );
    let snapshot = app.config.snapshot();
    assert_eq!(
        (snapshot.accepted, snapshot.duplicate, snapshot.stale),
        (3, 2, 2)
    );
}

#[tokio::test]
async fn memory_store() {
    scenario(MemoryStore::new().with_capacity(10)).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_in_memory() {
    scenario(SqliteStore::connect("sqlite::memory:").await.unwrap()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dedup.db").display());
    {
        let store = SqliteStore::connect(&url).await.unwrap();
        let app = app_with(store.clone());
        assert_eq!(
            deliver(&app, &product("product.update", 7, 5)).await,
            StatusCode::OK
        );
        assert_eq!(
            deliver(&app, &envelope("order.delete", 2, json!(null))).await,
            StatusCode::OK
        );
        assert_eq!(app.calls().len(), 2);
        drop(app);
        store.close().await;
    }
    // A new process: a new pool on the same file.
    let store = SqliteStore::connect(&url).await.unwrap();
    let app = app_with(store);
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 3)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(
            &app,
            &envelope("order.update", 2, json!({"id": 2, "version": 9}))
        )
        .await,
        StatusCode::OK
    );
    assert!(
        app.calls().is_empty(),
        "everything was handled before the restart"
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 6)).await,
        StatusCode::OK
    );
    assert_eq!(app.calls().len(), 1);
    let snapshot = app.config.snapshot();
    assert_eq!(
        (snapshot.duplicate, snapshot.stale, snapshot.accepted),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn a_shared_store_deduplicates_across_receivers() {
    let store: Arc<dyn DedupStore> = Arc::new(MemoryStore::new());
    let first = app_with(Arc::clone(&store));
    let second = app_with(Arc::clone(&store));
    assert_eq!(
        deliver(&first, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&second, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&second, &product("product.update", 7, 4)).await,
        StatusCode::OK
    );
    assert_eq!(first.calls().len(), 1);
    assert!(second.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_memory_store_forgets_after_its_ttl_and_beyond_its_capacity() {
    let store = Arc::new(
        MemoryStore::new()
            .with_capacity(2)
            .with_ttl(Duration::from_secs(60)),
    );
    let app = app_with(Arc::clone(&store));
    assert_eq!(
        deliver(&app, &product("product.update", 1, 5)).await,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_secs(61)).await;
    // Forgotten: a late stale delivery is handled again (at least once, never lost).
    assert_eq!(
        deliver(&app, &product("product.update", 1, 3)).await,
        StatusCode::OK
    );
    assert_eq!(app.calls().len(), 2);
    for id in 2..=4 {
        assert_eq!(
            deliver(&app, &product("product.update", id, 1)).await,
            StatusCode::OK
        );
    }
    assert_eq!(store.len(), 2);
    let key = |id| {
        DedupKey::Object(tripletex_webhooks_types::ObjectKey {
            subject: tripletex_webhooks_types::Subject::Product,
            id,
        })
    };
    assert_eq!(
        store.seen(&key(4)).await.unwrap(),
        Some(Seen::from_mark(Mark::Version(1)))
    );
}
