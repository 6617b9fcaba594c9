//! A local mirror of products, kept fresh by webhooks:
//!
//! ```text
//! cargo run -p examples --example mirror
//! ```
//!
//! Starts the bundled Tripletex server in-process, creates a few products,
//! then starts a `Mirror` (SQLite file in a temporary directory) that
//! subscribes, backfills them and serves its webhook route; then creates,
//! updates and deletes products, printing each change as it is applied. It
//! exits 0 once the mirror equals the server's products, 1 after 30 seconds.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use tripletex_webhooks_client::Client;
use tripletex_webhooks_client::types::models::Product;
use tripletex_webhooks_client::types::secrecy::ExposeSecret as _;
use tripletex_webhooks_mirror::Mirror;
use tripletex_webhooks_server::{RunningServer, ServerConfig};
use tripletex_webhooks_types::Subject;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mirror example failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let server = RunningServer::start(ServerConfig::for_tests()).await?;
    let token = server.create_session_token(0).await?;
    let http = reqwest::Client::new();
    let api = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{}/{path}", server.base_url()))
            .basic_auth("0", Some(token.expose_secret()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            Ok::<Value, reqwest::Error>(
                request
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await
                    .unwrap_or(Value::Null),
            )
        }
    };
    for name in ["Espresso", "Latte", "Cortado"] {
        api(
            reqwest::Method::POST,
            "product".into(),
            Some(json!({"name": name})),
        )
        .await?;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let dir = tempfile::tempdir()?;
    let mirror = Mirror::builder()
        .client(
            Client::builder()
                .base_url(server.base_url())
                .session_token(token.clone())
                .build()?,
        )
        .subject(Subject::Product, "id,version,name")
        .target_url(format!(
            "http://{}/tripletex/webhooks",
            listener.local_addr()?
        ))
        .auth_header("X-Api-Key", "example-key")
        .hmac_secret("example-secret")
        .store_url(format!(
            "sqlite://{}",
            dir.path().join("mirror.db").display()
        ))
        .propagation(Duration::ZERO)
        .on_progress(|p| {
            println!(
                "backfill {}: {} pages, {} objects",
                p.subject, p.pages, p.objects
            );
        })
        .on_change(|c| {
            let what = if c.deleted { "deleted" } else { "now" };
            println!(
                "{} {} {what} v{} (was {:?}, from {})",
                c.subject, c.id, c.new_version, c.old_version, c.source
            );
        })
        .build()
        .await?;
    let router = mirror.webhooks()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    mirror.start().await?;

    let created = api(
        reqwest::Method::POST,
        "product".into(),
        Some(json!({"name": "Flat white"})),
    )
    .await?;
    let id = created["value"]["id"].as_i64().unwrap_or_default();
    api(
        reqwest::Method::PUT,
        format!("product/{id}"),
        Some(json!({"name": "Flat white, large"})),
    )
    .await?;
    api(reqwest::Method::DELETE, "product/1".into(), None).await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let server_products = api(
            reqwest::Method::GET,
            "product?fields=id,version,name".into(),
            None,
        )
        .await?;
        let server_products: Vec<(i64, i64)> = server_products["values"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|p| {
                        (
                            p["id"].as_i64().unwrap_or(-1),
                            p["version"].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let local: Vec<(i64, i64)> = mirror
            .all::<Product>()
            .await?
            .iter()
            .map(|p| (p.id.unwrap_or(-1), p.version.map_or(-1, i64::from)))
            .collect();
        if local == server_products {
            // Waits for a change being told right now.
            mirror.deliver_changes().await?;
            println!("the mirror holds the server's {} products", local.len());
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(
                format!("no convergence: local {local:?}, server {server_products:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
