//! A receiver whose metrics are scraped by Prometheus: the receiver records
//! through the `metrics` facade, `metrics-exporter-prometheus` renders them on
//! `GET /metrics` beside the webhook route.
//!
//! ```text
//! cargo run -p examples --example prometheus_receiver
//! curl -s http://127.0.0.1:3000/metrics | grep tripletex_webhooks_
//! ```
//!
//! Settings, from the environment: `RECEIVER_LISTEN` (default
//! `127.0.0.1:3000`), `RECEIVER_AUTH_HEADER_VALUE` (`dev-token`, for the header
//! `X-Tripletex-Token`) and `RECEIVER_HMAC_SECRET` (`dev-hmac-secret`).

use std::process::ExitCode;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusBuilder;
use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn handler(webhook: Webhook) -> StatusCode {
    println!("{} {}", webhook.event().event, webhook.event().id);
    StatusCode::OK
}

/// The webhook route behind the layer, and `/metrics` outside it.
fn app(
    config: WebhookConfig,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> Router {
    let webhooks = Router::new()
        .route("/webhooks/tripletex", post(handler))
        .layer(TripletexWebhookLayer::new(config));
    Router::new()
        .route("/metrics", get(move || std::future::ready(render())))
        .merge(webhooks)
}

#[tokio::main]
async fn main() -> ExitCode {
    // The recorder for the whole process; `render` gives the text format.
    let prometheus = match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("installing the Prometheus recorder failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    tripletex_webhooks_receiver::metrics::describe();
    let config = WebhookConfig::builder()
        .header_auth(
            "X-Tripletex-Token",
            env_or("RECEIVER_AUTH_HEADER_VALUE", "dev-token"),
        )
        .hmac_secret(env_or("RECEIVER_HMAC_SECRET", "dev-hmac-secret"))
        .build();
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listen = env_or("RECEIVER_LISTEN", "127.0.0.1:3000");
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("webhooks on http://{listen}/webhooks/tripletex, metrics on http://{listen}/metrics");
    let app = app(config, move || prometheus.render());
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("server error: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
