//! An axum app that receives Tripletex webhooks behind `TripletexWebhookLayer`
//! and prints each typed event once (retries, duplicates from several
//! subscriptions and out-of-order versions are acknowledged, not printed).
//!
//! ```text
//! cargo run -p examples --example axum_receiver
//! ```
//!
//! Settings, from the environment:
//!
//! | variable | default |
//! |---|---|
//! | `RECEIVER_LISTEN` | `127.0.0.1:3000` |
//! | `RECEIVER_PATH` | `/webhooks/tripletex` |
//! | `RECEIVER_AUTH_HEADER_NAME` | `X-Tripletex-Token` |
//! | `RECEIVER_AUTH_HEADER_VALUE` | `dev-token` |
//! | `RECEIVER_HMAC_SECRET` | `dev-hmac-secret` |
//! | `RECEIVER_DEDUP_DB` | unset: dedup in memory; `sqlite://FILE` to remember across restarts |
//! | `RUST_LOG` | `info` (the receiver's decisions are logged on `tripletex_webhooks_receiver`) |
//!
//! Subscribe with the same values, e.g. against the bundled server:
//!
//! ```json
//! {"event": "product.create", "targetUrl": "http://127.0.0.1:3000/webhooks/tripletex",
//!  "authHeaderName": "X-Tripletex-Token", "authHeaderValue": "dev-token",
//!  "hmacSharedSecret": "dev-hmac-secret"}
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::routing::post;
use tripletex_webhooks_receiver::{
    Dispatcher, MemoryStore, SqliteStore, TripletexWebhookLayer, Webhook, WebhookConfig,
};
use tripletex_webhooks_types::{EventPayload, ObjectChange};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let listen: SocketAddr = env_or("RECEIVER_LISTEN", "127.0.0.1:3000")
        .parse()
        .map_err(|e| format!("RECEIVER_LISTEN: {e}"))?;
    let path = env_or("RECEIVER_PATH", "/webhooks/tripletex");
    let header_name = env_or("RECEIVER_AUTH_HEADER_NAME", "X-Tripletex-Token");
    if std::env::var("RECEIVER_AUTH_HEADER_VALUE").is_err()
        || std::env::var("RECEIVER_HMAC_SECRET").is_err()
    {
        eprintln!(
            "note: using the default development secrets; set RECEIVER_AUTH_HEADER_VALUE and RECEIVER_HMAC_SECRET"
        );
    }
    let builder = WebhookConfig::builder()
        .header_auth(
            header_name.clone(),
            env_or("RECEIVER_AUTH_HEADER_VALUE", "dev-token"),
        )
        .hmac_secret(env_or("RECEIVER_HMAC_SECRET", "dev-hmac-secret"));
    let builder = match std::env::var("RECEIVER_DEDUP_DB") {
        Ok(url) => builder.store(
            SqliteStore::connect(&url)
                .await
                .map_err(|e| format!("RECEIVER_DEDUP_DB: {e}"))?,
        ),
        Err(_) => builder.store(MemoryStore::new()),
    };
    let config = builder.build().map_err(|e| e.to_string())?;

    let dispatcher = Dispatcher::new()
        .on_product(|change| async move {
            match &change.payload {
                ObjectChange::Created(product) => println!(
                    "product {} created: {:?} (version {})",
                    change.id,
                    product.name.as_deref().unwrap_or_default(),
                    version(change.delivery.version()),
                ),
                ObjectChange::Updated(product) => println!(
                    "product {} updated: {:?} (version {})",
                    change.id,
                    product.name.as_deref().unwrap_or_default(),
                    version(change.delivery.version()),
                ),
                ObjectChange::Deleted => println!("product {} deleted", change.id),
            }
        })
        .fallback(|webhook: Webhook| async move { print_event(&webhook) });

    let app = Router::new()
        .route(&path, post(dispatcher))
        .layer(TripletexWebhookLayer::new(config.clone()));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    // The bound address: with port 0 the system picked it.
    let listen = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address bound for {listen}: {e}"))?;
    println!(
        "receiving Tripletex webhooks on http://{listen}{path} (header {header_name} + HMAC); Ctrl-C to stop"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    println!("counters: {:?}", config.snapshot());
    Ok(())
}

/// One line per event that has no typed route above.
fn print_event(webhook: &Webhook) {
    let (event, delivery) = (webhook.event(), webhook.delivery());
    let what = match &event.payload {
        EventPayload::Unknown(raw) => format!("unknown to this version: {raw}"),
        other => match other.payload_model() {
            Some(model) => format!("a {model}"),
            None => "deleted".to_owned(),
        },
    };
    println!(
        "{} {} (subscription {}, version {}, {}): {what}",
        event.event,
        event.id,
        event.subscription_id,
        version(delivery.version()),
        delivery.freshness(),
    );
}

fn version(version: Option<i64>) -> String {
    version.map_or_else(|| "-".to_owned(), |v| v.to_string())
}
