//! Shared helpers: an axum app behind the layer whose handler records every
//! call and answers as the test says, and a bounded wait for a condition.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod backends;
pub mod counting_busy;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::test_util::SignedRequest;
use tripletex_webhooks_receiver::{Freshness, TripletexWebhookLayer, Webhook, WebhookConfig};

/// One handler call.
#[derive(Debug, Clone)]
pub struct Call {
    pub event: String,
    pub id: i64,
    pub version: Option<i64>,
    pub freshness: Freshness,
    pub first: bool,
    pub idempotency_key: Option<String>,
    pub raw_body: Vec<u8>,
    pub webhook: Webhook,
}

#[derive(Clone)]
pub struct Shared {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub answer: Arc<AtomicU16>,
    /// How long the handler takes: simulated work, for tests on paused time
    /// (`start_paused`) only, where it costs no real time.
    pub delay: Arc<Mutex<Duration>>,
    /// Whether handlers may go on: while `false` ([`TestApp::hold`]) they wait.
    pub open: Arc<watch::Sender<bool>>,
    /// How many handler calls have started.
    pub started: Arc<watch::Sender<usize>>,
}

#[allow(unused_imports, reason = "not every test file waits")]
pub use test_support::{WITHIN, eventually};

pub struct TestApp {
    pub router: Router,
    pub config: WebhookConfig,
    pub shared: Shared,
}

async fn handler(State(shared): State<Shared>, webhook: Webhook) -> StatusCode {
    shared.started.send_modify(|started| *started += 1);
    let mut open = shared.open.subscribe();
    open.wait_for(|open| *open).await.unwrap();
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        // Not a wait: simulated work, on paused time (see `Shared::delay`).
        tokio::time::sleep(delay).await;
    }
    let delivery = webhook.delivery().clone();
    shared.calls.lock().unwrap().push(Call {
        event: webhook.event().event.to_string(),
        id: webhook.event().id,
        version: delivery.version(),
        freshness: delivery.freshness(),
        first: delivery.is_first(),
        idempotency_key: delivery.idempotency_key().map(str::to_owned),
        raw_body: webhook.raw_body().to_vec(),
        webhook: webhook.clone(),
    });
    StatusCode::from_u16(shared.answer.load(Ordering::SeqCst)).unwrap()
}

impl TestApp {
    pub fn new(config: WebhookConfig) -> Self {
        let shared = Shared {
            calls: Arc::default(),
            answer: Arc::new(AtomicU16::new(200)),
            delay: Arc::default(),
            open: Arc::new(watch::Sender::new(true)),
            started: Arc::new(watch::Sender::new(0)),
        };
        let router = Router::new()
            .route("/hook", post(handler))
            .with_state(shared.clone())
            .layer(TripletexWebhookLayer::new(config.clone()));
        Self {
            router,
            config,
            shared,
        }
    }

    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    /// Simulated work in each handler call; only for tests on paused time.
    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Handlers wait, once started, until [`release`](Self::release).
    pub fn hold(&self) {
        self.shared.open.send_replace(false);
    }

    /// Lets held handlers (and later ones) go on.
    pub fn release(&self) {
        self.shared.open.send_replace(true);
    }

    /// Waits (bounded) until `count` handler calls have started.
    pub async fn started(&self, count: usize) {
        let mut started = self.shared.started.subscribe();
        tokio::time::timeout(WITHIN, started.wait_for(|started| *started >= count))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {count} handler calls to start"))
            .unwrap();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Sends a request built by `SignedRequest` to `/hook`.
    pub async fn deliver(&self, request: SignedRequest) -> Answer {
        self.send(request.with_uri("/hook").into_request()).await
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// `{"subscriptionId": 1, "event": event, "id": id, "value": value}`.
#[allow(clippy::needless_pass_by_value)]
pub fn envelope(event: &str, id: i64, value: Value) -> Value {
    json!({"subscriptionId": 1, "event": event, "id": id, "value": value})
}

/// A product create/update with this version.
pub fn product(event: &str, id: i64, version: i64) -> Value {
    envelope(
        event,
        id,
        json!({"id": id, "version": version, "name": format!("Product {id} v{version}")}),
    )
}

/// A config accepting unauthenticated requests (for the dedup and decoding tests).
pub fn open_config() -> WebhookConfig {
    WebhookConfig::builder()
        .allow_unauthenticated()
        .build()
        .unwrap()
}
