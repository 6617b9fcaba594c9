//! Every store behind the layer: the conformance suite of `test_util` store by
//! store (two handles each, as replicas hold them), the bounded memory store,
//! the SQLite store across a restart, PostgreSQL and Redis (skipped when
//! `DATABASE_URL` / `REDIS_URL` are unset), and one store shared by two
//! receivers.
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
use tripletex_webhooks_receiver::test_util::{SignedRequest, check_store};

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

async fn conformance(shared: common::backends::Shared) {
    check_store(&*shared.a, &*shared.b).await;
    shared.cleanup().await;
}

#[tokio::test]
async fn conformance_memory() {
    conformance(common::backends::memory()).await;
}

#[tokio::test]
async fn conformance_sqlite() {
    conformance(common::backends::sqlite().await).await;
}

#[tokio::test]
async fn conformance_postgres() {
    if let Some(shared) = common::backends::postgres().await {
        conformance(shared).await;
    }
}

#[tokio::test]
async fn conformance_redis() {
    if let Some(shared) = common::backends::redis().await {
        conformance(shared).await;
    }
}

/// Two memory stores are two stores, not two handles on one: the suite
/// finds that a claim taken through one does not hold through the other.
#[tokio::test]
async fn the_conformance_suite_fails_handles_that_do_not_share_claims() {
    let failed = tokio::spawn(async {
        check_store(&MemoryStore::new(), &MemoryStore::new()).await;
    })
    .await
    .unwrap_err();
    let message = failed.into_panic();
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        message.contains("store conformance") && message.contains("expected Busy"),
        "{message}"
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

#[tokio::test]
async fn postgres_store() {
    if let Some(shared) = common::backends::postgres().await {
        scenario(Arc::clone(&shared.a)).await;
        shared.cleanup().await;
    }
}

#[tokio::test]
async fn postgres_store_purges_old_rows_and_lapsed_claims() {
    use tripletex_webhooks_receiver::store::{Lease, PostgresStore};
    let Some(url) = test_support::services::url("DATABASE_URL") else {
        return;
    };
    let table = common::backends::unique("dedup_purge");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let store = PostgresStore::with_table(pool, &table).await.unwrap();
    assert_eq!(store.table(), table);
    let key = |id| {
        DedupKey::Object(tripletex_webhooks_types::ObjectKey {
            subject: tripletex_webhooks_types::Subject::Product,
            id,
        })
    };
    store.record(&key(1), Mark::Version(1)).await.unwrap();
    // Only claimed, lapsing; and only claimed, live.
    let lapsing = Lease::new(Duration::from_millis(1));
    store
        .claim(&key(2), Mark::Version(1), &lapsing)
        .await
        .unwrap();
    let live = Lease::new(Duration::from_secs(60));
    store.claim(&key(3), Mark::Version(1), &live).await.unwrap();
    // The 1 ms claim lapses on the database's clock.
    let lapsed = format!(
        "SELECT count(*) FROM {table} WHERE recorded_at IS NULL AND claimed_until <= clock_timestamp()"
    );
    common::eventually("the short claim to lapse", || async {
        let count: i64 = sqlx::query_scalar(&lapsed)
            .fetch_one(store.pool())
            .await
            .unwrap();
        (count == 1).then_some(())
    })
    .await;
    assert_eq!(
        store
            .purge_older_than(Duration::from_secs(3600))
            .await
            .unwrap(),
        1,
        "the lapsed claim-only row"
    );
    assert_eq!(store.purge_older_than(Duration::ZERO).await.unwrap(), 1);
    assert_eq!(store.seen(&key(1)).await.unwrap(), None);
    let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(count, 1, "the live claim stays");
    // Table names are checked before they reach SQL.
    assert!(
        PostgresStore::with_table(store.pool().clone(), "x; DROP TABLE y")
            .await
            .is_err()
    );
    store.drop_table().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn redis_store_records_expire_after_the_ttl() {
    use tripletex_webhooks_receiver::store::RedisStore;
    let Some(url) = test_support::services::url("REDIS_URL") else {
        return;
    };
    let prefix = format!("{}:", common::backends::unique("tripletex-webhooks-test"));
    let store = RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(&prefix)
        .with_ttl(Duration::from_secs(3));
    let key = DedupKey::Delivery("{tagged}*key".into());
    // The record's Redis key, `PREFIX{delivery:KEY}`, and its expiry in ms
    // (-1: none, -2: gone).
    let record_key = format!("{prefix}{{delivery:{{tagged}}*key}}");
    let pttl = || async {
        let ms: i64 = redis::cmd("PTTL")
            .arg(&record_key)
            .query_async(&mut store.connection().clone())
            .await
            .unwrap();
        ms
    };
    store.record(&key, Mark::Delivered).await.unwrap();
    assert_eq!(store.seen(&key).await.unwrap(), Some(Seen::default()));
    let expiry = pttl().await;
    assert!(
        (1..=3000).contains(&expiry),
        "expires within the 3 s TTL, and not yet: {expiry}"
    );
    common::eventually("the record to be forgotten", || async {
        store.seen(&key).await.unwrap().is_none().then_some(())
    })
    .await;
    let kept = store.clone().without_ttl();
    kept.record(&key, Mark::Delivered).await.unwrap();
    assert_eq!(pttl().await, -1, "never expires");
    assert_eq!(kept.seen(&key).await.unwrap(), Some(Seen::default()));
    assert_eq!(store.clear().await.unwrap(), 1);
    assert_eq!(store.seen(&key).await.unwrap(), None);
}

#[tokio::test]
async fn redis_store() {
    if let Some(shared) = common::backends::redis().await {
        scenario(Arc::clone(&shared.a)).await;
        shared.cleanup().await;
    }
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

// On paused time: `created` is the store's clock's zero.
#[tokio::test(start_paused = true)]
async fn the_memory_store_keeps_a_key_at_least_its_ttl() {
    let created = tokio::time::Instant::now();
    let store = MemoryStore::new().with_ttl(Duration::from_secs(2));
    let key = DedupKey::Delivery("key-1".into());
    let at = |millis| created + Duration::from_millis(millis);
    tokio::time::advance(at(900) - created).await;
    store.record(&key, Mark::Delivered).await.unwrap();
    // Recorded at 0.9 s: remembered until 0.9 + 2 = 2.9 s, rounded up to 3 s.
    for millis in [2_850, 2_999] {
        tokio::time::advance(at(millis) - tokio::time::Instant::now()).await;
        assert_eq!(
            store.seen(&key).await.unwrap(),
            Some(Seen::default()),
            "remembered at {millis} ms"
        );
    }
    tokio::time::advance(at(3_000) - tokio::time::Instant::now()).await;
    assert_eq!(store.seen(&key).await.unwrap(), None, "forgotten at 3 s");
}
