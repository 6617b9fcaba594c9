//! The integration's side: an axum app whose routes sit behind
//! `TripletexWebhookLayer`, recording what their handlers saw; it can be
//! stopped (connections refused) and started again on the same port.

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
use tripletex_webhooks_types::EventPayload;

use crate::WITHIN;

/// One delivery a handler ran for.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The route (path) that handled it.
    pub route: &'static str,
    /// The event name, e.g. `product.update`.
    pub event: String,
    /// The object's id.
    pub id: i64,
    /// The subscription it was delivered for.
    pub subscription_id: i64,
    /// The `version` in the payload.
    pub version: Option<i64>,
    /// The typed payload.
    pub payload: EventPayload,
    /// The envelope's raw `value`.
    pub value: Value,
    /// The delivery's `idempotency-key`.
    pub idempotency_key: Option<String>,
}

impl Handled {
    fn new(route: &'static str, webhook: Webhook) -> Self {
        let envelope: Value = serde_json::from_slice(webhook.raw_body()).unwrap();
        let (event, _, delivery) = webhook.into_parts();
        Self {
            route,
            event: event.event.to_string(),
            id: event.id,
            subscription_id: event.subscription_id,
            version: delivery.version(),
            payload: event.payload,
            value: envelope["value"].clone(),
            idempotency_key: delivery.idempotency_key().map(str::to_owned),
        }
    }

    /// Whether it is a `*.delete` event.
    pub fn is_delete(&self) -> bool {
        self.event.ends_with(".delete")
    }
}

/// Everything the handlers saw, in the order they ran; shared by every
/// route and every restart of an [`App`].
#[derive(Debug, Clone)]
pub struct Log {
    handled: watch::Sender<Vec<Handled>>,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            handled: watch::Sender::new(Vec::new()),
        }
    }
}

impl Log {
    pub fn record(&self, handled: Handled) {
        self.handled.send_modify(|all| all.push(handled));
    }

    /// Everything handled so far.
    pub fn all(&self) -> Vec<Handled> {
        self.handled.borrow().clone()
    }

    /// What one route handled.
    pub fn on(&self, route: &str) -> Vec<Handled> {
        self.all()
            .into_iter()
            .filter(|handled| handled.route == route)
            .collect()
    }

    /// Waits (bounded) until `done` holds for what was handled, and returns it.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Handled]) -> bool) -> Vec<Handled> {
        let mut changes = self.handled.subscribe();
        let reached = tokio::time::timeout(WITHIN, changes.wait_for(|all| done(all))).await;
        match reached {
            Ok(Ok(all)) => all.clone(),
            _ => panic!(
                "timed out after {WITHIN:?} waiting for {what}; handled so far:\n{:#?}",
                self.all()
                    .iter()
                    .map(|h| format!("{} {} v{:?} on {}", h.event, h.id, h.version, h.route))
                    .collect::<Vec<_>>()
            ),
        }
    }
}

/// A route behind the layer with `config`, whose handler records into `log`
/// and answers 200.
pub fn route(path: &'static str, config: &WebhookConfig, log: &Log) -> Router {
    let log = log.clone();
    Router::new()
        .route(
            path,
            post(move |webhook: Webhook| {
                let log = log.clone();
                async move {
                    log.record(Handled::new(path, webhook));
                    StatusCode::OK
                }
            }),
        )
        .layer(TripletexWebhookLayer::new(config.clone()))
}

/// The app, serving on a loopback port it keeps across restarts.
pub struct App {
    addr: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl App {
    /// Serves `router` on an ephemeral loopback port.
    pub async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut app = Self {
            addr: listener.local_addr().unwrap(),
            running: None,
        };
        app.serve(listener, router);
        app
    }

    fn serve(&mut self, listener: tokio::net::TcpListener, router: Router) {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.running = Some((stop, task));
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Stops serving and closes every connection: the port refuses
    /// connections until [`App::start_again`].
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            tokio::time::timeout(WITHIN, task)
                .await
                .expect("the app stops")
                .unwrap();
        }
    }

    /// Serves `router` (a new process's app) on the same port again.
    pub async fn start_again(&mut self, router: Router) {
        assert!(self.running.is_none(), "the app is running");
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {} again: {e}", self.addr));
        self.serve(listener, router);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some((stop, _)) = self.running.take() {
            let _ = stop.send(());
        }
    }
}
