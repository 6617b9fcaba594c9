//! Version-aware deduplication through the layer: duplicates, out-of-order
//! versions, tombstones, handler failures and retries, the idempotency-key
//! fallback, concurrent deliveries of one object, store failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use common::{TestApp, envelope, open_config, product};
use serde_json::json;
use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
use tripletex_webhooks_receiver::store::{Claim, DedupStore, Lease, MemoryStore, StoreError};
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{Freshness, WebhookConfig};

async fn deliver(app: &TestApp, body: &serde_json::Value) -> StatusCode {
    app.deliver(SignedRequest::from_json(body)).await.status
}

fn handled_versions(app: &TestApp) -> Vec<Option<i64>> {
    app.calls().iter().map(|call| call.version).collect()
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_without_the_handler() {
    let app = TestApp::new(open_config());
    let update = product("product.update", 7, 3);
    assert_eq!(deliver(&app, &update).await, StatusCode::OK);
    // The same version again (another subscription, another idempotency key).
    let mut other_subscription = update.clone();
    other_subscription["subscriptionId"] = json!(2);
    assert_eq!(deliver(&app, &other_subscription).await, StatusCode::OK);
    // And a retry with the very same idempotency key.
    let retry = SignedRequest::from_json(&update).with_idempotency_key("same");
    assert_eq!(app.deliver(retry.clone()).await.status, StatusCode::OK);
    assert_eq!(app.deliver(retry).await.status, StatusCode::OK);
    assert_eq!(handled_versions(&app), [Some(3)]);
    let calls = app.calls();
    assert!(calls[0].first);
    assert_eq!(calls[0].freshness, Freshness::New);
    let snapshot = app.config.snapshot();
    assert_eq!(
        (snapshot.accepted, snapshot.duplicate, snapshot.stale),
        (1, 3, 0)
    );
}

#[tokio::test]
async fn create_update_and_delete_share_one_key() {
    let app = TestApp::new(open_config());
    assert_eq!(
        deliver(&app, &product("product.create", 7, 0)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 0)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 1)).await,
        StatusCode::OK
    );
    // Another subject with the same id is another object.
    assert_eq!(
        deliver(
            &app,
            &envelope("order.update", 7, json!({"id": 7, "version": 0}))
        )
        .await,
        StatusCode::OK
    );
    let events: Vec<_> = app
        .calls()
        .iter()
        .map(|c| (c.event.clone(), c.version))
        .collect();
    assert_eq!(
        events,
        [
            ("product.create".to_owned(), Some(0)),
            ("product.update".to_owned(), Some(1)),
            ("order.update".to_owned(), Some(0)),
        ]
    );
}

#[tokio::test]
async fn out_of_order_v5_then_v3_is_stale() {
    let app = TestApp::new(open_config());
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 3)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.create", 7, 0)).await,
        StatusCode::OK
    );
    // Versions may skip: 9 after 5 is new.
    assert_eq!(
        deliver(&app, &product("product.update", 7, 9)).await,
        StatusCode::OK
    );
    assert_eq!(handled_versions(&app), [Some(5), Some(9)]);
    let snapshot = app.config.snapshot();
    assert_eq!((snapshot.accepted, snapshot.stale), (2, 2));
}

#[tokio::test]
async fn a_delete_is_a_tombstone() {
    let app = TestApp::new(open_config());
    assert_eq!(
        deliver(&app, &product("product.update", 7, 2)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &envelope("product.delete", 7, json!(null))).await,
        StatusCode::OK
    );
    // Late updates and creates, even with higher versions, are stale.
    assert_eq!(
        deliver(&app, &product("product.update", 7, 3)).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &product("product.create", 7, 0)).await,
        StatusCode::OK
    );
    // Without a version too.
    let unversioned = envelope("product.update", 7, json!({"id": 7, "name": "no version"}));
    assert_eq!(deliver(&app, &unversioned).await, StatusCode::OK);
    // The delete again is a duplicate.
    assert_eq!(
        deliver(&app, &envelope("product.delete", 7, json!(null))).await,
        StatusCode::OK
    );
    let events: Vec<_> = app.calls().iter().map(|c| c.event.clone()).collect();
    assert_eq!(events, ["product.update", "product.delete"]);
    let snapshot = app.config.snapshot();
    assert_eq!(
        (snapshot.accepted, snapshot.stale, snapshot.duplicate),
        (2, 3, 1)
    );

    // A delete arriving before the object was ever seen still tombstones it.
    assert_eq!(
        deliver(&app, &envelope("customer.delete", 4, json!(null))).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(
            &app,
            &envelope("customer.create", 4, json!({"id": 4, "version": 0}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(app.calls().last().unwrap().event, "customer.delete");
}

#[tokio::test]
async fn a_failed_handler_records_nothing_and_the_retry_is_handled() {
    let app = TestApp::new(open_config());
    let update =
        SignedRequest::from_json(&product("product.update", 7, 4)).with_idempotency_key("k-1");
    app.answer(500);
    assert_eq!(
        app.deliver(update.clone()).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    // A 4xx from the handler is passed on and records nothing either.
    app.answer(422);
    assert_eq!(
        app.deliver(update.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.answer(200);
    assert_eq!(app.deliver(update.clone()).await.status, StatusCode::OK);
    assert_eq!(app.deliver(update).await.status, StatusCode::OK);
    let calls = app.calls();
    assert_eq!(
        calls.len(),
        3,
        "two failures, one success, then a duplicate"
    );
    assert!(
        calls.iter().all(|c| c.first),
        "nothing was recorded before the success"
    );
    let snapshot = app.config.snapshot();
    assert_eq!(
        (
            snapshot.handler_failed,
            snapshot.accepted,
            snapshot.duplicate
        ),
        (2, 1, 1)
    );
    // A 204 is success too.
    app.answer(204);
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        deliver(&app, &product("product.update", 7, 5)).await,
        StatusCode::OK
    );
    assert_eq!(app.calls().len(), 4);
}

#[tokio::test]
async fn without_a_version_the_idempotency_key_decides() {
    let app = TestApp::new(open_config());
    // `fields` dropped the version.
    let body = envelope("product.update", 7, json!({"id": 7, "name": "x"}));
    let first = SignedRequest::from_json(&body).with_idempotency_key("delivery-1");
    assert_eq!(app.deliver(first.clone()).await.status, StatusCode::OK);
    assert_eq!(app.deliver(first).await.status, StatusCode::OK);
    let second = SignedRequest::from_json(&body).with_idempotency_key("delivery-2");
    assert_eq!(app.deliver(second).await.status, StatusCode::OK);
    let keys: Vec<_> = app
        .calls()
        .iter()
        .map(|c| c.idempotency_key.clone())
        .collect();
    assert_eq!(
        keys,
        [Some("delivery-1".to_owned()), Some("delivery-2".to_owned())]
    );
    assert_eq!(app.config.snapshot().duplicate, 1);

    // Events without a version by nature (notification.sent) behave the same.
    let sent = envelope("notification.sent", 11, json!({"id": 11, "title": "Hello"}));
    let request = SignedRequest::from_json(&sent).with_idempotency_key("n-1");
    assert_eq!(app.deliver(request.clone()).await.status, StatusCode::OK);
    assert_eq!(app.deliver(request).await.status, StatusCode::OK);
    assert_eq!(app.calls().len(), 3);
}

#[tokio::test]
async fn with_neither_version_nor_key_deliveries_pass_through_and_are_counted() {
    let app = TestApp::new(open_config());
    let body = envelope("product.update", 7, json!({"id": 7, "name": "x"}));
    for _ in 0..2 {
        let request = SignedRequest::from_json(&body).without_idempotency_key();
        assert_eq!(app.deliver(request).await.status, StatusCode::OK);
    }
    let calls = app.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.freshness == Freshness::Unkeyed && !c.first)
    );
    let snapshot = app.config.snapshot();
    assert_eq!((snapshot.unkeyed, snapshot.accepted), (2, 2));
}

#[tokio::test]
async fn redundant_deliveries_can_be_passed_to_the_handler() {
    let app = TestApp::new(
        WebhookConfig::builder()
            .allow_unauthenticated()
            .pass_redundant(true)
            .build()
            .unwrap(),
    );
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
    let freshness: Vec<_> = app.calls().iter().map(|c| c.freshness).collect();
    assert_eq!(
        freshness,
        [Freshness::New, Freshness::Duplicate, Freshness::Stale]
    );
    let previous = app.calls()[2].webhook.delivery().previous().unwrap();
    assert_eq!(
        previous.version,
        Some(5),
        "the handler sees what was handled"
    );
    // Passing a stale one records nothing: 5 is still the newest.
    assert_eq!(
        app.config
            .store()
            .seen(
                &app.calls()[0]
                    .webhook
                    .delivery()
                    .dedup_key()
                    .unwrap()
                    .clone()
            )
            .await
            .unwrap(),
        Some(Seen::from_mark(Mark::Version(5)))
    );
}

// On paused time: v5's simulated 100 ms of work only elapse once every other
// task (v3 included) is blocked, so v3 surely arrives while v5 is handled.
#[tokio::test(start_paused = true)]
async fn concurrent_deliveries_of_one_object_are_serialised() {
    let app = Arc::new(TestApp::new(open_config()));
    app.delay(Duration::from_millis(100));
    // v5 starts first and holds the object; v3 arrives while v5 is handled.
    let v5 = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { deliver(&app, &product("product.update", 7, 5)).await })
    };
    app.started(1).await;
    let v3 = {
        let app = Arc::clone(&app);
        tokio::spawn(async move { deliver(&app, &product("product.update", 7, 3)).await })
    };
    assert_eq!(v5.await.unwrap(), StatusCode::OK);
    assert_eq!(v3.await.unwrap(), StatusCode::OK);
    assert_eq!(handled_versions(&app), [Some(5)], "v3 never runs after v5");
    assert_eq!(app.config.snapshot().stale, 1);
}

// On paused time: each handler's simulated work lets the others queue up.
#[tokio::test(start_paused = true)]
async fn many_concurrent_versions_are_handled_in_increasing_order() {
    let app = Arc::new(TestApp::new(open_config()));
    app.delay(Duration::from_millis(2));
    let versions = [4, 9, 1, 9, 3, 12, 7, 0, 12, 5, 11, 2, 8, 6, 10, 3];
    let tasks: Vec<_> = versions
        .iter()
        .map(|&version| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { deliver(&app, &product("product.update", 1, version)).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let handled: Vec<i64> = handled_versions(&app)
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert!(handled.windows(2).all(|w| w[0] < w[1]), "{handled:?}");
    assert_eq!(handled.last(), Some(&12));
    let snapshot = app.config.snapshot();
    assert_eq!(
        snapshot.accepted + snapshot.stale + snapshot.duplicate,
        versions.len() as u64
    );
}

#[tokio::test]
async fn different_objects_are_handled_in_parallel() {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let app = {
        use axum::Router;
        use axum::routing::post;
        use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook};
        let barrier = Arc::clone(&barrier);
        Router::new()
            .route(
                "/hook",
                post(move |_: Webhook| {
                    let barrier = Arc::clone(&barrier);
                    async move {
                        barrier.wait().await;
                        StatusCode::OK
                    }
                }),
            )
            .layer(TripletexWebhookLayer::new(open_config()))
    };
    let send = |id| {
        let app = app.clone();
        tokio::spawn(async move {
            use tower::ServiceExt as _;
            let request = SignedRequest::from_json(&product("product.update", id, 1))
                .with_uri("/hook")
                .into_request();
            app.oneshot(request).await.unwrap().status()
        })
    };
    let (a, b) = (send(1), send(2));
    let both = tokio::time::timeout(Duration::from_secs(5), async { (a.await, b.await) })
        .await
        .expect("two objects must not wait for each other");
    assert_eq!(both.0.unwrap(), StatusCode::OK);
    assert_eq!(both.1.unwrap(), StatusCode::OK);
}

/// A store whose lookups (and claims) or records (and commits) fail on demand.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail_seen: std::sync::atomic::AtomicBool,
    fail_record: std::sync::atomic::AtomicBool,
}

/// `Err` while `fail` is set.
fn check(fail: &std::sync::atomic::AtomicBool) -> Result<(), StoreError> {
    if fail.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(StoreError::msg("database is down"));
    }
    Ok(())
}

#[async_trait]
impl DedupStore for FlakyStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        check(&self.fail_seen)?;
        self.inner.seen(key).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        check(&self.fail_record)?;
        self.inner.record(key, mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        check(&self.fail_seen)?;
        self.inner.claim(key, mark, lease).await
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        if let Err(error) = check(&self.fail_record) {
            // The database went down after the claim: nothing recorded, and
            // the claim is let go so that the redelivery below is handled.
            self.inner.release(key, lease).await?;
            return Err(error);
        }
        self.inner.commit(key, mark, lease).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        self.inner.release(key, lease).await
    }
}

#[tokio::test]
async fn store_failures() {
    use std::sync::atomic::Ordering;
    let store = Arc::new(FlakyStore::default());
    let app = TestApp::new(
        WebhookConfig::builder()
            .allow_unauthenticated()
            .store(Arc::clone(&store))
            .build()
            .unwrap(),
    );
    // A failed lookup: 503 (Tripletex retries), the handler does not run.
    store.fail_seen.store(true, Ordering::SeqCst);
    let answer = app
        .deliver(SignedRequest::from_json(&product("product.update", 7, 1)))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, "Service Unavailable", "no detail to the peer");
    assert!(app.calls().is_empty());
    store.fail_seen.store(false, Ordering::SeqCst);
    // A failed record after the handler succeeded: the handler's answer stands.
    store.fail_record.store(true, Ordering::SeqCst);
    assert_eq!(
        deliver(&app, &product("product.update", 7, 1)).await,
        StatusCode::OK
    );
    store.fail_record.store(false, Ordering::SeqCst);
    // Nothing was recorded, so a redelivery is handled again (at least once).
    assert_eq!(
        deliver(&app, &product("product.update", 7, 1)).await,
        StatusCode::OK
    );
    assert_eq!(app.calls().len(), 2);
    assert_eq!(app.config.snapshot().store_failed, 2);
}
