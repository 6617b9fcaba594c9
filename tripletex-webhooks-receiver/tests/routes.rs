//! One store under several routes, as an application with two Tripletex
//! subscriptions has: Tripletex sends each change to every subscription at
//! once, so both routes (two `WebhookConfig`s, two layers) receive the same
//! object version at the same moment. The store's claim lets exactly one
//! handler run; the other delivery waits for it and is acknowledged as a
//! duplicate or, when it may not wait, is answered 503 with `Retry-After`.
//! For every store: `MemoryStore`, `SqliteStore` (one handle, and two handles
//! on one file), `PostgresStore` and `RedisStore` (skipped when
//! `DATABASE_URL` / `REDIS_URL` are unset).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use common::backends::{self, Shared};
use common::counting_busy::CountingBusy;
use common::{Answer, WITHIN, product};
use tokio::sync::watch;
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::store::{DedupStore, MemoryStore};
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};

/// One handler call: route, object, version.
type Call = (&'static str, i64, Option<i64>);

/// An application with a route per subscription, `/a` and `/b`, each behind
/// its own layer and configuration.
struct Routes {
    router: Router,
    a: WebhookConfig,
    b: WebhookConfig,
    /// Every handler call, as it starts.
    calls: Arc<Mutex<Vec<Call>>>,
    /// How many handler calls have started.
    started: watch::Sender<usize>,
    /// Whether handlers may go on: while `false` they wait.
    open: watch::Sender<bool>,
    /// How many claims the routes' stores have answered `Busy`.
    busy_claims: watch::Sender<usize>,
}

impl Routes {
    /// Route `/a` over store `a`, `/b` over store `b` (the same store, or two
    /// handles on one), `/b` waiting at most `b_wait` for a claim held
    /// elsewhere.
    fn new(a: &Arc<dyn DedupStore>, b: &Arc<dyn DedupStore>, b_wait: Duration) -> Self {
        let busy_claims = watch::Sender::new(0);
        let config = |store: &Arc<dyn DedupStore>, wait| {
            let observed = CountingBusy {
                store: Arc::clone(store),
                busy: busy_claims.clone(),
            };
            WebhookConfig::builder()
                .allow_unauthenticated()
                .store(Arc::new(observed) as Arc<dyn DedupStore>)
                .claim_wait(wait)
                .build()
                .unwrap()
        };
        // `/a` waits as long as any test may take: a loaded machine never
        // turns its wait into a 503.
        let (config_a, config_b) = (config(a, WITHIN), config(b, b_wait));
        let mut routes = Self {
            router: Router::new(),
            a: config_a.clone(),
            b: config_b.clone(),
            calls: Arc::default(),
            started: watch::Sender::new(0),
            open: watch::Sender::new(true),
            busy_claims,
        };
        routes.router = Router::new()
            .route("/a", routes.handler("a", config_a))
            .route("/b", routes.handler("b", config_b));
        routes
    }

    fn handler(&self, route: &'static str, config: WebhookConfig) -> axum::routing::MethodRouter {
        let (calls, started, open) = (
            Arc::clone(&self.calls),
            self.started.clone(),
            self.open.subscribe(),
        );
        post(move |webhook: Webhook| {
            let (calls, started, mut open) = (Arc::clone(&calls), started.clone(), open.clone());
            async move {
                calls.lock().unwrap().push((
                    route,
                    webhook.event().id,
                    webhook.delivery().version(),
                ));
                started.send_modify(|started| *started += 1);
                open.wait_for(|open| *open).await.unwrap();
                StatusCode::OK
            }
        })
        .layer(TripletexWebhookLayer::new(config))
    }

    async fn deliver(&self, route: &str, id: i64, version: i64) -> Answer {
        let request = SignedRequest::from_json(&product("product.update", id, version))
            .with_uri(&format!("/{route}"))
            .into_request();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn calls(&self, id: i64) -> Vec<Call> {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|call| call.1 == id).copied().collect()
    }
}

/// The same version to both routes at once: one handler call; the other
/// delivery waits for its claim (seen answered `Busy` while the handler is
/// held) and is then acknowledged (200) as a duplicate.
async fn one_version_to_both_routes(a: &Arc<dyn DedupStore>, b: &Arc<dyn DedupStore>) {
    let routes = Routes::new(a, b, WITHIN);
    for (version, first, second) in [(5, "a", "b"), (6, "b", "a")] {
        routes.open.send_replace(false);
        let (started, busy) = (*routes.started.borrow(), *routes.busy_claims.borrow());
        let held = async {
            let mut started_rx = routes.started.subscribe();
            let mut busy_rx = routes.busy_claims.subscribe();
            tokio::time::timeout(WITHIN, async {
                started_rx.wait_for(|n| *n > started).await.unwrap();
                busy_rx.wait_for(|n| *n > busy).await.unwrap();
            })
            .await
            .expect("one handler runs while the other delivery waits for its claim");
            routes.open.send_replace(true);
        };
        let (to_first, to_second, ()) = tokio::join!(
            routes.deliver(first, 7, version),
            routes.deliver(second, 7, version),
            held
        );
        assert_eq!(
            (to_first.status, to_second.status),
            (StatusCode::OK, StatusCode::OK)
        );
    }
    let versions: Vec<_> = routes.calls(7).iter().map(|call| call.2).collect();
    assert_eq!(versions, [Some(5), Some(6)], "one handler call per version");
    let (a, b) = (routes.a.snapshot(), routes.b.snapshot());
    assert_eq!((a.accepted + b.accepted, a.duplicate + b.duplicate), (2, 2));
    assert_eq!(a.busy + b.busy, 0, "the wait outlasted the handler");
}

/// While `/a` handles a version, `/b` (allowed no wait) answers 503 with
/// `Retry-After` and calls nothing; Tripletex's retry after `/a` finished is
/// acknowledged as a duplicate.
async fn busy_then_duplicate(a: &Arc<dyn DedupStore>, b: &Arc<dyn DedupStore>) {
    let routes = Routes::new(a, b, Duration::ZERO);
    routes.open.send_replace(false);
    let first = {
        let (app, request) = (
            routes.router.clone(),
            SignedRequest::from_json(&product("product.update", 8, 1))
                .with_uri("/a")
                .into_request(),
        );
        tokio::spawn(async move { app.oneshot(request).await.unwrap().status() })
    };
    let mut started = routes.started.subscribe();
    tokio::time::timeout(WITHIN, started.wait_for(|started| *started >= 1))
        .await
        .expect("/a's handler started")
        .unwrap();

    let busy = routes.deliver("b", 8, 1).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.body, "Service Unavailable");
    let retry_after: u64 = busy.header("retry-after").unwrap().parse().unwrap();
    let ttl = routes.a.claim_ttl().as_secs();
    assert!(
        (1..=ttl).contains(&retry_after),
        "at most the rest of /a's claim, in whole seconds: {retry_after}"
    );
    assert_eq!(routes.calls(8), [("a", 8, Some(1))]);
    assert_eq!(routes.b.snapshot().busy, 1);

    routes.open.send_replace(true);
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    let retried = routes.deliver("b", 8, 1).await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(routes.calls(8).len(), 1);
    assert_eq!(routes.b.snapshot().duplicate, 1);
}

async fn both(a: &Arc<dyn DedupStore>, b: &Arc<dyn DedupStore>) {
    one_version_to_both_routes(a, b).await;
    busy_then_duplicate(a, b).await;
}

/// Both routes over the first handle only: one store.
async fn one_store(shared: Shared) {
    both(&shared.a, &shared.a).await;
    shared.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_over_one_memory_store() {
    let store: Arc<dyn DedupStore> = Arc::new(MemoryStore::new());
    both(&store, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_over_one_sqlite_store() {
    one_store(backends::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_over_two_sqlite_stores_on_one_file() {
    let shared = backends::sqlite().await;
    both(&shared.a, &shared.b).await;
    shared.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_over_one_postgres_store() {
    if let Some(shared) = backends::postgres().await {
        one_store(shared).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routes_over_one_redis_store() {
    if let Some(shared) = backends::redis().await {
        one_store(shared).await;
    }
}
