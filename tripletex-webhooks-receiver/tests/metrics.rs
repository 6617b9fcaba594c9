//! The counters and the handler duration, recorded through the `metrics`
//! facade into a test recorder (`metrics-util`'s `DebuggingRecorder`,
//! installed for this thread only: `#[tokio::test]` runs on one thread).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use common::{TestApp, product};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// One snapshot of the recorder (taking one drains the histograms).
type Recorded = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{
    Claim, DedupKey, DedupStore, Lease, Mark, MemoryStore, Seen, StoreError, WebhookConfig,
};

/// A memory store that works, fails, or finds every object busy.
#[derive(Debug, Default)]
struct ModalStore {
    inner: MemoryStore,
    /// 0: works; 1: every call fails; 2: every claim is busy.
    mode: AtomicU8,
}

impl ModalStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.mode.load(Ordering::SeqCst) == 1 {
            return Err(StoreError::msg("database is down"));
        }
        Ok(())
    }
}

#[async_trait]
impl DedupStore for ModalStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        self.check()?;
        self.inner.seen(key).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record(key, mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        self.check()?;
        if self.mode.load(Ordering::SeqCst) == 2 {
            return Ok(Claim::Busy { retry_after: None });
        }
        self.inner.claim(key, mark, lease).await
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        self.check()?;
        self.inner.commit(key, mark, lease).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        self.inner.release(key, lease).await
    }
}

/// The counter `name` with these labels (sorted by name), 0 if never touched.
fn counter(recorded: &Recorded, name: &str, labels: &[(&str, &str)]) -> u64 {
    recorded
        .iter()
        .find_map(|(key, _, _, value)| {
            let key = key.key();
            let mut found: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
            found.sort_unstable();
            let mut wanted = labels.to_vec();
            wanted.sort_unstable();
            match value {
                DebugValue::Counter(count) if key.name() == name && found == wanted => Some(*count),
                _ => None,
            }
        })
        .unwrap_or(0)
}

/// The handler durations recorded with this outcome.
fn durations(recorded: &Recorded, outcome: &str) -> Vec<f64> {
    recorded
        .iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let matches = key.name() == "tripletex_webhooks_handler_duration_seconds"
                && key
                    .labels()
                    .any(|l| l.key() == "outcome" && l.value() == outcome);
            match value {
                DebugValue::Histogram(values) if matches => {
                    Some(values.iter().map(|v| f64::from(*v)).collect::<Vec<_>>())
                }
                _ => None,
            }
        })
        .flatten()
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_outcome_is_counted_through_the_facade() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    tripletex_webhooks_receiver::metrics::describe();

    let store = Arc::new(ModalStore::default());
    let app = TestApp::new(
        WebhookConfig::builder()
            .hmac_secret("secret")
            .store(Arc::clone(&store))
            .claim_wait(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let signed = |version: i64| {
        SignedRequest::from_json(&product("product.update", 7, version)).with_hmac("secret")
    };

    // Accepted, with the handler's simulated work in the histogram.
    app.delay(Duration::from_millis(250));
    assert_eq!(app.deliver(signed(2)).await.status, StatusCode::OK);
    app.delay(Duration::ZERO);
    // Duplicate and stale.
    assert_eq!(app.deliver(signed(2)).await.status, StatusCode::OK);
    assert_eq!(app.deliver(signed(1)).await.status, StatusCode::OK);
    // Unauthorized (a wrong secret) and malformed (not JSON), with reasons.
    let forged = SignedRequest::from_json(&product("product.update", 7, 3)).with_hmac("guess");
    assert_eq!(app.deliver(forged).await.status, StatusCode::UNAUTHORIZED);
    let garbage = SignedRequest::from_body("not json").with_hmac("secret");
    assert_eq!(app.deliver(garbage).await.status, StatusCode::BAD_REQUEST);
    // The handler fails.
    app.answer(500);
    assert_eq!(
        app.deliver(signed(3)).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    app.answer(200);
    // Busy, then the store down.
    store.mode.store(2, Ordering::SeqCst);
    assert_eq!(
        app.deliver(signed(4)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    store.mode.store(1, Ordering::SeqCst);
    assert_eq!(
        app.deliver(signed(4)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let seen: Recorded = snapshotter.snapshot().into_vec();
    let count = |name: &str| counter(&seen, name, &[]);
    assert_eq!(count("tripletex_webhooks_accepted_total"), 1);
    assert_eq!(count("tripletex_webhooks_duplicate_total"), 1);
    assert_eq!(count("tripletex_webhooks_stale_total"), 1);
    assert_eq!(
        counter(
            &seen,
            "tripletex_webhooks_unauthorized_total",
            &[("reason", "wrong_signature")]
        ),
        1
    );
    assert_eq!(
        counter(
            &seen,
            "tripletex_webhooks_malformed_total",
            &[("reason", "bad_request")]
        ),
        1
    );
    assert_eq!(count("tripletex_webhooks_handler_failed_total"), 1);
    assert_eq!(count("tripletex_webhooks_busy_total"), 1);
    assert_eq!(count("tripletex_webhooks_store_failed_total"), 1);
    assert_eq!(count("tripletex_webhooks_unkeyed_total"), 0);

    // One duration per handler run, with its outcome; paused time makes the
    // simulated work exact.
    assert_eq!(durations(&seen, "success"), vec![0.25]);
    assert_eq!(durations(&seen, "failure"), vec![0.0]);

    // The in-process snapshot agrees.
    let snapshot = app.config.snapshot();
    assert_eq!(
        (snapshot.accepted, snapshot.duplicate, snapshot.stale),
        (1, 1, 1)
    );
    assert_eq!((snapshot.unauthorized, snapshot.malformed), (1, 1));
    assert_eq!(
        (
            snapshot.handler_failed,
            snapshot.busy,
            snapshot.store_failed
        ),
        (1, 1, 1)
    );

    // `describe` gave every metric its help text.
    let described = seen
        .iter()
        .filter(|(_, _, description, _)| description.is_some())
        .count();
    assert!(described >= 9, "{described} metrics described");
}
