//! The durable inbox: acknowledged once stored, handled from the database
//! per object in version order, with dedup, backoff, dead letters and
//! replay; on SQLite, and on PostgreSQL when `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::post;
use common::product;
use tokio::sync::watch;
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::inbox::{Inbox, InboxWorkers, ReplayFilter, State};
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{
    Freshness, MemoryStore, TripletexWebhookLayer, Webhook, WebhookConfig,
};

const SECRET: &str = "inbox-secret";

/// One handler call.
#[derive(Debug, Clone)]
struct Call {
    id: i64,
    version: Option<i64>,
    freshness: Freshness,
    at: tokio::time::Instant,
}

/// The application behind the layer: records calls, answers `answer`,
/// waits while `open` is false.
#[derive(Clone)]
struct Handler {
    calls: Arc<Mutex<Vec<Call>>>,
    started: Arc<watch::Sender<usize>>,
    open: Arc<watch::Sender<bool>>,
    answer: Arc<Mutex<StatusCode>>,
}

async fn handle(AxumState(handler): AxumState<Handler>, webhook: Webhook) -> StatusCode {
    handler.started.send_modify(|started| *started += 1);
    handler
        .open
        .subscribe()
        .wait_for(|open| *open)
        .await
        .unwrap();
    let delivery = webhook.delivery();
    handler.calls.lock().unwrap().push(Call {
        id: webhook.event().id,
        version: delivery.version(),
        freshness: delivery.freshness(),
        at: tokio::time::Instant::now(),
    });
    *handler.answer.lock().unwrap()
}

/// An app with an inbox, and its workers once started.
struct App {
    router: Router,
    inbox: Inbox,
    config: WebhookConfig,
    handler: Handler,
    workers: Option<InboxWorkers>,
}

impl App {
    fn new(inbox: Inbox, config: WebhookConfig) -> Self {
        let handler = Handler {
            calls: Arc::default(),
            started: Arc::new(watch::Sender::new(0)),
            open: Arc::new(watch::Sender::new(true)),
            answer: Arc::new(Mutex::new(StatusCode::OK)),
        };
        let router = Router::new()
            .route("/hook", post(handle))
            .with_state(handler.clone())
            .layer(TripletexWebhookLayer::new(config.clone()).inbox(inbox.clone()));
        Self {
            router,
            inbox,
            config,
            handler,
            workers: None,
        }
    }

    fn start(&mut self) {
        self.workers = Some(self.inbox.start(self.config.clone(), self.router.clone()));
    }

    async fn deliver(&self, request: SignedRequest) -> StatusCode {
        let request = request.with_hmac(SECRET).with_uri("/hook").into_request();
        self.router.clone().oneshot(request).await.unwrap().status()
    }

    fn calls(&self) -> Vec<Call> {
        self.handler.calls.lock().unwrap().clone()
    }

    fn answer(&self, status: StatusCode) {
        *self.handler.answer.lock().unwrap() = status;
    }

    async fn states(&self) -> Vec<State> {
        let all = ReplayFilter::dead_letters().states(&[
            State::Pending,
            State::Done,
            State::Skipped,
            State::Dead,
        ]);
        let entries = self.inbox.list(&all, 1_000).await.unwrap();
        entries.into_iter().map(|entry| entry.state).collect()
    }

    async fn settled(&self, count: usize) -> Vec<State> {
        common::eventually("every event finished", || async {
            let states = self.states().await;
            (states.len() == count && !states.contains(&State::Pending)).then_some(states)
        })
        .await
    }
}

fn config() -> WebhookConfig {
    WebhookConfig::builder()
        .hmac_secret(SECRET)
        .store(MemoryStore::new())
        .build()
        .unwrap()
}

fn delivery(id: i64, version: i64) -> SignedRequest {
    SignedRequest::from_json(&product("product.update", id, version))
        .with_idempotency_key(format!("delivery-{id}-{version}"))
}

/// Where the test's inbox lives; removed on drop.
enum Database {
    Sqlite(#[allow(dead_code, reason = "removed on drop")] tempfile::TempDir),
    Postgres(String),
}

impl Database {
    fn sqlite() -> (Self, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
        (Self::Sqlite(dir), url)
    }

    /// A fresh schema of the database at `DATABASE_URL`, as the URL's
    /// search path.
    async fn postgres() -> Option<(Self, String)> {
        let url = test_support::services::url("DATABASE_URL")?;
        let schema = common::backends::unique("inbox_test");
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        Some((Self::Postgres(schema), scoped))
    }

    async fn drop_schema(self) {
        if let Self::Postgres(schema) = self {
            let url = std::env::var("DATABASE_URL").unwrap();
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// The SQLite database, and PostgreSQL's when configured.
async fn databases() -> Vec<(Database, String)> {
    let mut all = vec![Database::sqlite()];
    all.extend(Database::postgres().await);
    all
}

#[tokio::test]
async fn acknowledges_once_stored_while_the_handler_is_still_held() {
    for (database, url) in databases().await {
        let mut app = App::new(Inbox::open(&url).await.unwrap(), config());
        app.handler.open.send_replace(false);
        app.start();
        assert_eq!(app.deliver(delivery(1, 1)).await, StatusCode::OK, "{url}");
        // The handler started and is held: the delivery was answered first.
        let mut started = app.handler.started.subscribe();
        tokio::time::timeout(common::WITHIN, started.wait_for(|n| *n >= 1))
            .await
            .unwrap()
            .unwrap();
        assert!(app.calls().is_empty());
        assert_eq!(app.states().await, [State::Pending]);
        app.handler.open.send_replace(true);
        assert_eq!(app.settled(1).await, [State::Done]);
        assert_eq!(app.calls()[0].freshness, Freshness::New);
        // Refused deliveries are not stored.
        let forged = SignedRequest::from_json(&product("product.update", 2, 1))
            .with_idempotency_key("forged")
            .with_hmac("not-the-secret")
            .with_uri("/hook")
            .into_request();
        let status = app.router.clone().oneshot(forged).await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let not_json = app
            .deliver(SignedRequest::from_body("{").with_idempotency_key("broken"))
            .await;
        assert_eq!(not_json, StatusCode::BAD_REQUEST);
        assert_eq!(app.states().await, [State::Done]);
        app.workers.take().unwrap().shutdown().await;
        app.inbox.close().await;
        database.drop_schema().await;
    }
}

#[tokio::test]
async fn one_object_at_a_time_in_version_order_and_objects_concurrently() {
    for (database, url) in databases().await {
        let mut app = App::new(Inbox::open(&url).await.unwrap().workers(8), config());
        // Stored before any worker runs, out of order.
        for (id, version) in [(1, 3), (1, 1), (2, 2), (1, 2), (3, 1), (2, 1)] {
            assert_eq!(app.deliver(delivery(id, version)).await, StatusCode::OK);
        }
        app.handler.open.send_replace(false);
        app.start();
        // The first version of each of the three objects, at once.
        let mut started = app.handler.started.subscribe();
        tokio::time::timeout(common::WITHIN, started.wait_for(|n| *n >= 3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*started.borrow(), 3, "one per object while they are held");
        app.handler.open.send_replace(true);
        assert_eq!(app.settled(6).await, [State::Done; 6], "{url}");
        let mut per_object: HashMap<i64, Vec<i64>> = HashMap::new();
        for call in app.calls() {
            per_object
                .entry(call.id)
                .or_default()
                .push(call.version.unwrap());
        }
        assert_eq!(per_object[&1], [1, 2, 3]);
        assert_eq!(per_object[&2], [1, 2]);
        assert_eq!(per_object[&3], [1]);
        app.workers.take().unwrap().shutdown().await;
        app.inbox.close().await;
        database.drop_schema().await;
    }
}

#[tokio::test]
async fn a_handled_version_is_not_handed_over_again() {
    let (_database, url) = Database::sqlite();
    let mut app = App::new(Inbox::open(&url).await.unwrap(), config());
    app.start();
    assert_eq!(app.deliver(delivery(1, 5)).await, StatusCode::OK);
    app.settled(1).await;
    // Tripletex's retry of the same delivery is stored once.
    assert_eq!(app.deliver(delivery(1, 5)).await, StatusCode::OK);
    // The same version through another subscription, and an older one.
    let other =
        SignedRequest::from_json(&product("product.update", 1, 5)).with_idempotency_key("other");
    assert_eq!(app.deliver(other).await, StatusCode::OK);
    assert_eq!(app.deliver(delivery(1, 4)).await, StatusCode::OK);
    assert_eq!(
        app.settled(3).await,
        [State::Done, State::Skipped, State::Skipped]
    );
    assert_eq!(app.calls().len(), 1, "{:?}", app.calls());
    let counters = app.config.snapshot();
    assert_eq!(
        (counters.accepted, counters.duplicate, counters.stale),
        (1, 1, 1)
    );

    // After a deletion, an event without a version is stale too.
    let delete = SignedRequest::from_json(&common::envelope(
        "product.delete",
        1,
        serde_json::Value::Null,
    ))
    .with_idempotency_key("delete-1");
    assert_eq!(app.deliver(delete).await, StatusCode::OK);
    app.settled(4).await;
    let unversioned = SignedRequest::from_json(&common::envelope(
        "product.update",
        1,
        serde_json::json!({"id": 1, "name": "no version"}),
    ))
    .with_idempotency_key("unversioned-1");
    assert_eq!(app.deliver(unversioned).await, StatusCode::OK);
    let states = app.settled(5).await;
    assert_eq!(states[3..], [State::Done, State::Skipped]);
    assert_eq!(app.calls().len(), 2, "the deletion only");
    assert_eq!(app.config.snapshot().stale, 2);
}

#[tokio::test]
async fn failures_back_off_exponentially_then_dead_letter_then_replay() {
    let (_database, url) = Database::sqlite();
    let inbox = Inbox::open(&url)
        .await
        .unwrap()
        .max_attempts(4)
        .backoff(Duration::from_millis(100), Duration::from_millis(300));
    let mut app = App::new(inbox, config());
    app.answer(StatusCode::SERVICE_UNAVAILABLE);
    app.start();
    assert_eq!(app.deliver(delivery(1, 1)).await, StatusCode::OK);
    assert_eq!(app.settled(1).await, [State::Dead]);
    let calls = app.calls();
    let gaps: Vec<Duration> = calls
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .collect();
    assert_eq!(gaps.len(), 3, "four attempts");
    // Each pause at least as scheduled (and not wildly more: the
    // machine may be busy). On real time: sqlx's own timeouts run on
    // tokio's clock, which paused time would run out while SQLite works on
    // its threads; the schedule itself is tested on paused time.
    for (gap, pause) in gaps.iter().zip([100, 200, 300]) {
        let pause = Duration::from_millis(pause);
        assert!(
            *gap >= pause && *gap < pause + Duration::from_secs(5),
            "{gaps:?}"
        );
    }
    let dead = app
        .inbox
        .list(&ReplayFilter::dead_letters(), 10)
        .await
        .unwrap();
    assert_eq!(dead[0].attempts, 4);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("the handler answered 503 Service Unavailable")
    );

    // Replay: not another subscription's, then this one's.
    assert_eq!(
        app.inbox
            .replay(&ReplayFilter::dead_letters().subscription(99))
            .await
            .unwrap(),
        0
    );
    app.answer(StatusCode::OK);
    assert_eq!(
        app.inbox
            .replay(&ReplayFilter::dead_letters().subscription(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.settled(1).await, [State::Done]);
    assert_eq!(app.calls().len(), 5);
    assert_eq!(app.calls()[4].freshness, Freshness::New);

    // A handled event replayed goes to the handler again, as a duplicate.
    let handled = ReplayFilter::dead_letters()
        .states(&[State::Done])
        .ids(dead[0].id, dead[0].id);
    assert_eq!(app.inbox.replay(&handled).await.unwrap(), 1);
    assert_eq!(app.settled(1).await, [State::Done]);
    assert_eq!(app.calls().len(), 6);
    assert_eq!(app.calls()[5].freshness, Freshness::Duplicate);
    assert_eq!(
        app.config.snapshot().accepted,
        2,
        "the replayed duplicate recorded nothing new"
    );
}

#[tokio::test]
async fn events_older_than_the_max_age_are_dead_lettered_at_their_next_failure() {
    let (_database, url) = Database::sqlite();
    let inbox = Inbox::open(&url)
        .await
        .unwrap()
        .max_attempts(100)
        .max_age(Duration::from_millis(250))
        .backoff(Duration::from_millis(100), Duration::from_millis(100));
    let mut app = App::new(inbox, config());
    app.answer(StatusCode::INTERNAL_SERVER_ERROR);
    app.start();
    assert_eq!(app.deliver(delivery(1, 1)).await, StatusCode::OK);
    assert_eq!(app.settled(1).await, [State::Dead]);
    // Retried while younger than 250 ms (about every 100 ms), then dead long
    // before its 100 attempts.
    let calls = app.calls();
    let dead = app
        .inbox
        .list(&ReplayFilter::dead_letters(), 10)
        .await
        .unwrap();
    assert!(calls.len() >= 2 && calls.len() < 100, "{calls:?}");
    assert_eq!(dead[0].attempts, i64::try_from(calls.len()).unwrap());
    let lived = dead[0].finished_ms.unwrap() - dead[0].received_ms;
    assert!(lived >= 250, "dead-lettered at {lived} ms");
}

/// An app on `url` with workers holding `lease`, whose handler has begun
/// one event (object 1, version 1) and is held there.
async fn holding_one_event(url: &str, lease: Duration) -> App {
    let mut app = App::new(Inbox::open(url).await.unwrap().lease(lease), config());
    app.handler.open.send_replace(false);
    app.start();
    assert_eq!(app.deliver(delivery(1, 1)).await, StatusCode::OK);
    let mut started = app.handler.started.subscribe();
    tokio::time::timeout(common::WITHIN, started.wait_for(|n| *n >= 1))
        .await
        .unwrap()
        .unwrap();
    app
}

#[tokio::test]
async fn a_crashed_workers_events_are_claimed_again_once_its_lease_lapsed() {
    for (database, url) in databases().await {
        let lease = Duration::from_millis(300);
        let mut first = holding_one_event(&url, lease).await;
        // Gone mid-handler: the handler is cancelled, nothing finishes the row.
        drop(first.workers.take());
        let mut second = App::new(Inbox::open(&url).await.unwrap().lease(lease), config());
        second.start();
        assert_eq!(second.settled(1).await, [State::Done], "{url}");
        assert_eq!(second.calls().len(), 1);
        assert!(first.calls().is_empty());
        second.workers.take().unwrap().shutdown().await;
        database.drop_schema().await;
    }
}

#[tokio::test]
async fn a_handler_slower_than_its_lease_keeps_its_event() {
    for (database, url) in databases().await {
        let lease = Duration::from_millis(300);
        let mut first = holding_one_event(&url, lease).await;
        let held_until = |entries: &[tripletex_webhooks_receiver::inbox::InboxEntry]| {
            entries
                .first()
                .and_then(|entry| entry.claimed_until_ms)
                .unwrap_or(0)
        };
        let first_until = held_until(
            &first
                .inbox
                .list(&ReplayFilter::default().states(&[State::Pending]), 1)
                .await
                .unwrap(),
        );
        let mut second = App::new(Inbox::open(&url).await.unwrap().lease(lease), config());
        second.start();
        // Held past three of its leases: renewed, never claimed by the other.
        test_support::eventually("the lease renewed past three of its lengths", || async {
            let others = *second.handler.started.borrow();
            assert_eq!(others, 0, "the other worker ran the held event ({url})");
            let entries = first
                .inbox
                .list(&ReplayFilter::default().states(&[State::Pending]), 1)
                .await
                .unwrap();
            (held_until(&entries) > first_until + 3 * 300).then_some(())
        })
        .await;
        assert_eq!(*second.handler.started.borrow(), 0, "{url}");
        first.handler.open.send_replace(true);
        assert_eq!(first.settled(1).await, [State::Done], "{url}");
        assert_eq!(first.calls().len(), 1);
        assert!(second.calls().is_empty());
        for app in [&mut first, &mut second] {
            app.workers.take().unwrap().shutdown().await;
        }
        database.drop_schema().await;
    }
}

#[tokio::test]
async fn replicas_on_postgres_never_run_one_event_twice() {
    let Some((database, url)) = Database::postgres().await else {
        return;
    };
    let store = Arc::new(MemoryStore::new());
    let shared = WebhookConfig::builder()
        .hmac_secret(SECRET)
        .store(Arc::clone(&store))
        .build()
        .unwrap();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let inbox = Inbox::open(&url).await.unwrap().workers(4);
        let mut app = App::new(inbox, shared.clone());
        app.start();
        replicas.push(app);
    }
    for version in 1..=3 {
        for id in 1..=10 {
            let replica = &replicas[usize::try_from(id % 2).unwrap()];
            assert_eq!(replica.deliver(delivery(id, version)).await, StatusCode::OK);
        }
    }
    let states = replicas[0].settled(30).await;
    let handled = states.iter().filter(|state| **state == State::Done).count();
    let mut calls: Vec<(i64, i64)> = replicas
        .iter()
        .flat_map(App::calls)
        .map(|call| (call.id, call.version.unwrap()))
        .collect();
    let total = calls.len();
    calls.sort_unstable();
    calls.dedup();
    assert_eq!(total, calls.len(), "no version ran twice");
    assert_eq!(total, handled, "one call per event handled");
    for mut replica in replicas {
        replica.workers.take().unwrap().shutdown().await;
        replica.inbox.close().await;
    }
    database.drop_schema().await;
}

mod metrics {
    //! The inbox's counters and gauges through the `metrics` facade, into a
    //! test recorder (for this thread: `#[tokio::test]` runs on one).

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use tripletex_webhooks_receiver::inbox::metrics as names;

    use super::*;

    /// What the recorder saw: counters summed over snapshots (taking one
    /// may drain them), the last value of each gauge.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<HashMap<String, f64>>);

    impl Recorded {
        fn value(&self, snapshotter: &Snapshotter, name: &str) -> Option<f64> {
            let mut seen = self.0.lock().unwrap();
            for (key, _, _, value) in snapshotter.snapshot().into_vec() {
                let name = key.key().name().to_owned();
                match value {
                    DebugValue::Counter(count) => {
                        *seen.entry(name).or_default() += f64::from(u32::try_from(count).unwrap());
                    }
                    DebugValue::Gauge(gauge) => {
                        seen.insert(name, gauge.into_inner());
                    }
                    DebugValue::Histogram(_) => {}
                }
            }
            seen.get(name).copied()
        }
    }

    #[tokio::test]
    async fn depth_age_and_outcomes_are_recorded() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        names::describe();
        let seen = Recorded::default();

        let (_database, url) = Database::sqlite();
        let inbox = Inbox::open(&url)
            .await
            .unwrap()
            .max_attempts(2)
            .backoff(Duration::from_millis(10), Duration::from_millis(10));
        let mut app = App::new(inbox, config());
        app.answer(StatusCode::BAD_GATEWAY);
        app.start();
        assert_eq!(app.deliver(delivery(1, 1)).await, StatusCode::OK);
        assert_eq!(app.settled(1).await, [State::Dead]);
        app.answer(StatusCode::OK);
        app.handler.open.send_replace(false);
        for version in [1, 2] {
            assert_eq!(app.deliver(delivery(2, version)).await, StatusCode::OK);
        }
        // Both pending while the first is held.
        common::eventually("the depth gauge at 2", || async {
            (seen.value(&snapshotter, names::DEPTH) == Some(2.0)).then_some(())
        })
        .await;
        assert!(seen.value(&snapshotter, names::OLDEST_PENDING).is_some());
        app.handler.open.send_replace(true);
        let other = SignedRequest::from_json(&product("product.update", 2, 2))
            .with_idempotency_key("again");
        app.settled(3).await;
        assert_eq!(app.deliver(other).await, StatusCode::OK);
        app.settled(4).await;
        common::eventually("the depth gauge at 0", || async {
            (seen.value(&snapshotter, names::DEPTH) == Some(0.0)).then_some(())
        })
        .await;
        assert_eq!(seen.value(&snapshotter, names::OLDEST_PENDING), Some(0.0));
        for (name, count) in [
            (names::STORED, 4.0),
            (names::RETRIED, 1.0),
            (names::DEAD_LETTERED, 1.0),
            (names::HANDLED, 2.0),
            (names::SKIPPED, 1.0),
        ] {
            assert_eq!(seen.value(&snapshotter, name), Some(count), "{name}");
        }
    }
}
