//! Receiver replicas sharing one store (PostgreSQL at `DATABASE_URL`, Redis at
//! `REDIS_URL`, two `SqliteStore`s on one file, and one `MemoryStore` shared
//! by two receivers in a process):
//! two replicas receiving the same
//! deliveries concurrently, a replica crashing while it holds an object, and
//! a busy object waited for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use common::backends::{self, Shared};
use common::counting_busy::CountingBusy;
use common::{WITHIN, eventually, product};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
use tripletex_webhooks_receiver::store::{Claim, DedupStore, Lease};
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::types::{ObjectKey, Subject};
use tripletex_webhooks_receiver::{
    Admission, Receiver, TripletexWebhookLayer, Webhook, WebhookConfig,
};

fn object(id: i64) -> DedupKey {
    DedupKey::Object(ObjectKey {
        subject: Subject::Product,
        id,
    })
}

fn lease() -> Lease {
    Lease::new(Duration::from_secs(30))
}

fn request(id: i64, version: i64) -> Request<Body> {
    SignedRequest::from_json(&product("product.update", id, version))
        .with_uri("/hook")
        .into_request()
}

fn config(store: &Arc<dyn DedupStore>) -> tripletex_webhooks_receiver::WebhookConfigBuilder {
    WebhookConfig::builder()
        .allow_unauthenticated()
        .store(Arc::clone(store))
}

// ---------------------------------------------------------------------------
// Two replicas, the same deliveries, concurrently.

/// What the handlers of both replicas saw.
#[derive(Default)]
struct Handled {
    /// (object, version, replica), in the order handlers started.
    log: Vec<(i64, i64, usize)>,
    /// Objects whose handler is running now.
    active: HashSet<i64>,
    /// Handlers that started while another handled the same object.
    overlaps: Vec<(i64, i64)>,
}

fn replica(
    store: &Arc<dyn DedupStore>,
    index: usize,
    handled: &Arc<Mutex<Handled>>,
) -> (Router, WebhookConfig) {
    let config = config(store)
        // Short, so that some deliveries are answered 503 and retried.
        .claim_wait(Duration::from_millis(20))
        .build()
        .unwrap();
    let handled = Arc::clone(handled);
    let pauses = Arc::new(AtomicU64::new(index as u64));
    let router = Router::new()
        .route(
            "/hook",
            post(move |webhook: Webhook| {
                let handled = Arc::clone(&handled);
                let pause = pauses.fetch_add(1, Ordering::Relaxed) % 4;
                async move {
                    let (id, version) = (webhook.event().id, webhook.delivery().version().unwrap());
                    {
                        let mut handled = handled.lock().unwrap();
                        handled.log.push((id, version, index));
                        if !handled.active.insert(id) {
                            handled.overlaps.push((id, version));
                        }
                    }
                    // Simulated work: a few yields to the runtime, so that other
                    // deliveries of the object run meanwhile.
                    for _ in 0..=pause {
                        tokio::task::yield_now().await;
                    }
                    handled.lock().unwrap().active.remove(&id);
                    StatusCode::OK
                }
            }),
        )
        .layer(TripletexWebhookLayer::new(config.clone()));
    (router, config)
}

/// A small deterministic generator (xorshift64*), for shuffling.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

async fn two_replicas(shared: Shared) {
    const OBJECTS: i64 = 24;
    const VERSIONS: i64 = 8;
    let handled = Arc::new(Mutex::new(Handled::default()));
    let replicas = [
        replica(&shared.a, 0, &handled),
        replica(&shared.b, 1, &handled),
    ];

    // Every version of every object, each delivered two or three times (as
    // Tripletex retries and as several subscriptions do), to either replica,
    // in a shuffled order: duplicates and out-of-order versions mixed.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut deliveries = Vec::new();
    for id in 1..=OBJECTS {
        for version in 0..VERSIONS {
            for _ in 0..2 + rng.below(2) {
                deliveries.push((id, version, rng.below(2)));
            }
        }
    }
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, rng.below(i + 1));
    }
    let sent = deliveries.len();

    let tasks: Vec<_> = deliveries
        .into_iter()
        .map(|(id, version, first)| {
            let routers = [replicas[0].0.clone(), replicas[1].0.clone()];
            tokio::spawn(async move {
                // Like Tripletex: retry a 503 later (here: 2 ms later, at the
                // other replica as a load balancer might), until accepted.
                let mut retry = tokio::time::interval(Duration::from_millis(2));
                retry.set_missed_tick_behavior(MissedTickBehavior::Delay);
                let deadline = tokio::time::Instant::now() + WITHIN;
                let mut attempt = 0;
                loop {
                    retry.tick().await;
                    let router = routers[(first + attempt) % 2].clone();
                    let status = router.oneshot(request(id, version)).await.unwrap().status();
                    match status {
                        StatusCode::OK => return attempt,
                        StatusCode::SERVICE_UNAVAILABLE => {
                            assert!(
                                tokio::time::Instant::now() < deadline,
                                "object {id} v{version} never got through"
                            );
                            retry.reset();
                            attempt += 1;
                        }
                        other => panic!("object {id} v{version}: {other}"),
                    }
                }
            })
        })
        .collect();
    let mut retries = 0;
    for task in tasks {
        retries += task.await.unwrap();
    }

    let handled = std::mem::take(&mut *handled.lock().unwrap());
    let mut runs: HashMap<(i64, i64), usize> = HashMap::new();
    let mut per_object: HashMap<i64, Vec<i64>> = HashMap::new();
    for &(id, version, _) in &handled.log {
        *runs.entry((id, version)).or_default() += 1;
        per_object.entry(id).or_default().push(version);
    }
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{}: handled twice: {twice:?}",
        shared.name
    );
    assert!(
        handled.overlaps.is_empty(),
        "{}: one object handled by two handlers at once: {:?}",
        shared.name,
        handled.overlaps
    );
    for id in 1..=OBJECTS {
        let versions = &per_object[&id];
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "{}: object {id} regressed: {versions:?}",
            shared.name
        );
        assert_eq!(
            versions.last(),
            Some(&(VERSIONS - 1)),
            "{}: object {id}",
            shared.name
        );
    }
    let (a, b) = (replicas[0].1.snapshot(), replicas[1].1.snapshot());
    let by_replica = |index| handled.log.iter().filter(|(.., r)| *r == index).count();
    assert!(
        by_replica(0) > 0 && by_replica(1) > 0,
        "both replicas handled some"
    );
    assert_eq!(
        usize::try_from(a.accepted + b.accepted).unwrap(),
        handled.log.len()
    );
    assert_eq!(
        usize::try_from(a.accepted + b.accepted + a.duplicate + b.duplicate + a.stale + b.stale)
            .unwrap(),
        sent
    );
    assert_eq!(a.busy + b.busy, retries as u64);
    println!(
        "{}: {sent} deliveries of {} object versions; handled {} (replica A {}, B {}), \
         {} duplicate, {} stale, {} answered 503 busy and retried",
        shared.name,
        OBJECTS * VERSIONS,
        handled.log.len(),
        by_replica(0),
        by_replica(1),
        a.duplicate + b.duplicate,
        a.stale + b.stale,
        a.busy + b.busy,
    );
    shared.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_memory() {
    two_replicas(backends::memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_sqlite() {
    two_replicas(backends::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_postgres() {
    if let Some(shared) = backends::postgres().await {
        two_replicas(shared).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_redis() {
    if let Some(shared) = backends::redis().await {
        two_replicas(shared).await;
    }
}

// ---------------------------------------------------------------------------
// A replica dies holding an object.

async fn crashed_replica(shared: Shared) {
    // Long enough that both busy answers below come before it lapses, even
    // on a loaded two-core machine.
    let ttl = Duration::from_secs(3);
    let a = Receiver::new(config(&shared.a).claim_ttl(ttl).build().unwrap());
    let b = common::TestApp::new(
        config(&shared.b)
            .claim_wait(Duration::ZERO)
            .build()
            .unwrap(),
    );

    // A admits v5 and dies in its handler: no commit, no release.
    let (parts, body) = request(7, 5).into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    match a.receive(&parts, body).await.unwrap() {
        Admission::Deliver(admitted) => std::mem::forget(admitted),
        Admission::Acknowledge(_) => panic!("first delivery"),
    }

    // Until the claim lapses, B answers 503 with Retry-After, v5 and v6 alike.
    for version in [5, 6] {
        let answer = b
            .deliver(SignedRequest::from_json(&product(
                "product.update",
                7,
                version,
            )))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            shared.name
        );
        let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!(
            (1..=ttl.as_secs()).contains(&retry_after),
            "the claim's remaining TTL, in whole seconds: {retry_after}"
        );
    }
    assert!(b.calls().is_empty());
    assert_eq!(b.config.snapshot().busy, 2);

    // After the TTL (on the store's clock) the object is free again: a probe
    // claims it (nothing was recorded) and lets go at once.
    let probe = lease();
    eventually("the crashed replica's claim to lapse", || async {
        match shared
            .b
            .claim(&object(7), Mark::Version(5), &probe)
            .await
            .unwrap()
        {
            Claim::Busy { .. } => None,
            Claim::Claimed { previous: None } => Some(()),
            other => panic!("{}: {other:?}", shared.name),
        }
    })
    .await;
    shared.b.release(&object(7), &probe).await.unwrap();
    // B takes over: v5 is handled once, then v6.
    for version in [5, 5, 6] {
        let answer = b
            .deliver(SignedRequest::from_json(&product(
                "product.update",
                7,
                version,
            )))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", shared.name);
    }
    let versions: Vec<_> = b.calls().iter().map(|call| call.version).collect();
    assert_eq!(versions, [Some(5), Some(6)], "{}", shared.name);
    assert_eq!(b.config.snapshot().duplicate, 1);
    shared.cleanup().await;
}

#[tokio::test]
async fn a_crashed_replica_is_taken_over_after_the_ttl_memory() {
    crashed_replica(backends::memory()).await;
}

#[tokio::test]
async fn a_crashed_replica_is_taken_over_after_the_ttl_sqlite() {
    crashed_replica(backends::sqlite().await).await;
}

#[tokio::test]
async fn a_crashed_replica_is_taken_over_after_the_ttl_postgres() {
    if let Some(shared) = backends::postgres().await {
        crashed_replica(shared).await;
    }
}

#[tokio::test]
async fn a_crashed_replica_is_taken_over_after_the_ttl_redis() {
    if let Some(shared) = backends::redis().await {
        crashed_replica(shared).await;
    }
}

// ---------------------------------------------------------------------------
// A busy object is waited for, briefly; a failed handler releases at once.

async fn busy_then_free(shared: Shared) {
    let a = Arc::new(common::TestApp::new(config(&shared.a).build().unwrap()));
    let (busy, mut b_found_busy) = watch::channel(0);
    let b_store: Arc<dyn DedupStore> = Arc::new(CountingBusy {
        store: Arc::clone(&shared.b),
        busy,
    });
    let b = Arc::new(common::TestApp::new(
        config(&b_store)
            .claim_wait(Duration::from_secs(5))
            .build()
            .unwrap(),
    ));
    // A's handler for v1 runs until the test lets it finish.
    a.hold();
    let slow = {
        let a = Arc::clone(&a);
        tokio::spawn(async move {
            a.deliver(SignedRequest::from_json(&product("product.update", 9, 1)))
                .await
                .status
        })
    };
    a.started(1).await;
    // B's v2 finds the object busy and waits for A's v1 to be committed,
    // then is handled: no 503.
    let waiting = {
        let b = Arc::clone(&b);
        tokio::spawn(async move {
            b.deliver(SignedRequest::from_json(&product("product.update", 9, 2)))
                .await
        })
    };
    tokio::time::timeout(WITHIN, b_found_busy.wait_for(|busy| *busy >= 1))
        .await
        .expect("B found the object busy")
        .unwrap();
    a.release();
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", shared.name);
    let calls = b.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].webhook.delivery().previous(),
        Some(Seen::from_mark(Mark::Version(1))),
        "{}: B handled v2 after A committed v1",
        shared.name
    );
    assert_eq!(b.config.snapshot().busy, 0);

    // A's handler fails on v3: the claim is released before A answers, so B
    // handles the retry at once.
    a.answer(500);
    let failed = a
        .deliver(SignedRequest::from_json(&product("product.update", 9, 3)))
        .await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    let b_fast = common::TestApp::new(
        config(&shared.b)
            .claim_wait(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let retried = b_fast
        .deliver(SignedRequest::from_json(&product("product.update", 9, 3)))
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", shared.name);
    assert_eq!(b_fast.calls().len(), 1);
    shared.cleanup().await;
}

#[tokio::test]
async fn a_busy_object_is_waited_for_memory() {
    busy_then_free(backends::memory()).await;
}

#[tokio::test]
async fn a_busy_object_is_waited_for_sqlite() {
    busy_then_free(backends::sqlite().await).await;
}

#[tokio::test]
async fn a_busy_object_is_waited_for_postgres() {
    if let Some(shared) = backends::postgres().await {
        busy_then_free(shared).await;
    }
}

#[tokio::test]
async fn a_busy_object_is_waited_for_redis() {
    if let Some(shared) = backends::redis().await {
        busy_then_free(shared).await;
    }
}
