//! The whole loop in one program, with no set-up:
//!
//! ```text
//! cargo run -p examples --example quickstart
//! ```
//!
//! 1. starts the bundled Tripletex server in-process on an ephemeral port, on
//!    embedded SQLite in a temporary directory;
//! 2. starts your app: an axum receiver behind `TripletexWebhookLayer` (a
//!    custom auth header and an HMAC secret), also on an ephemeral port;
//! 3. subscribes it to `product.create`, `product.update` and `product.delete`
//!    with the client's `reconcile`, with that header and secret;
//! 4. creates a product, updates it twice quickly and deletes it through the
//!    object API (`/v2/product`, Basic `0:<session token>`), printing each
//!    typed event as the receiver handles it.
//!
//! It exits 0 once the creation, the last update and the deletion were
//! handled, and 1 with the reason if they do not all arrive within 30 seconds.
//! Two quick updates may coalesce: the server sends only the newest pending
//! version of an object, so version 1 may never be delivered (Tripletex's
//! guide warns of the same), while version 2 always is.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tripletex_webhooks_client::Client;
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::types::models::Product;
use tripletex_webhooks_client::types::secrecy::{ExposeSecret, SecretString};
use tripletex_webhooks_receiver::{Dispatcher, TripletexWebhookLayer, TypedWebhook, WebhookConfig};
use tripletex_webhooks_server::{RunningServer, ServerConfig};
use tripletex_webhooks_types::ObjectChange;

/// What the subscriptions send and the receiver requires.
const AUTH_HEADER: &str = "X-Tripletex-Token";
const AUTH_VALUE: &str = "quickstart-token";
const HMAC_SECRET: &str = "quickstart-hmac-secret";
const EVENTS: [&str; 3] = ["product.create", "product.update", "product.delete"];
/// How long everything may take, from the first change to the last event.
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One change the receiver's handler saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handled {
    Created { id: i64, version: Option<i64> },
    Updated { id: i64, version: Option<i64> },
    Deleted { id: i64 },
}

impl fmt::Display for Handled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { id, .. } => write!(f, "the creation of product {id}"),
            Self::Updated { id, version } => {
                let version = version.map_or_else(|| "-".to_owned(), |v| v.to_string());
                write!(f, "the update of product {id} to version {version}")
            }
            Self::Deleted { id } => write!(f, "the deletion of product {id}"),
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    // 1. The bundled Tripletex, with its database in a temporary directory
    //    (removed when `dir` is dropped at the end).
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::for_tests(); // 127.0.0.1:0, the default local tokens
    config.database_url = format!("sqlite://{}", dir.path().join("tripletex.db").display());
    let server = RunningServer::start(config).await?;
    println!("Tripletex (the bundled server) on {}", server.base_url());

    // 2. Your app: an axum receiver. The layer authenticates, decodes and
    //    deduplicates; the handler runs once per object version.
    let (handled, mut arrivals) = mpsc::unbounded_channel::<Handled>();
    let receiver = WebhookConfig::builder()
        .header_auth(AUTH_HEADER, AUTH_VALUE)
        .hmac_secret(HMAC_SECRET)
        .build()?;
    let dispatcher = Dispatcher::new().on_product(move |change| {
        let handled = handled.clone();
        async move {
            let _ = handled.send(describe(&change));
        }
    });
    let app = Router::new()
        .route("/webhooks/tripletex", post(dispatcher))
        .layer(TripletexWebhookLayer::new(receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = format!("http://{}/webhooks/tripletex", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("Receiver (axum + TripletexWebhookLayer) on {target}");

    // 3. Subscribe with the client: safe to run at every start.
    let client = Client::builder()
        .base_url(server.base_url())
        .consumer_token(server.consumer_token().clone())
        .employee_token(server.employee_tokens()[0].clone())
        .build()?;
    let mut desired = Vec::new();
    for event in EVENTS {
        desired.push(
            NewSubscription::new(event.parse()?, target.as_str())
                .with_fields("id,version,name")
                .with_auth_header(AUTH_HEADER, AUTH_VALUE)
                .with_hmac_secret(HMAC_SECRET),
        );
    }
    let report = client.subscriptions().reconcile(desired).apply().await?;
    println!("Subscribed with the client (reconcile):");
    for line in report.plan.to_string().lines() {
        println!("  {line}");
    }

    // 4. Change a product through the object API, as Tripletex users do.
    let api = ObjectApi {
        http: reqwest::Client::new(),
        base: server.base_url(),
        token: server.create_session_token(0).await?,
    };
    let deadline = Instant::now() + DEADLINE;

    let product = api
        .send(
            reqwest::Method::POST,
            "/product",
            Some(json!({"name": "Espresso", "number": "E1"})),
        )
        .await?;
    let id = product["id"]
        .as_i64()
        .ok_or("the created product has no id")?;
    wait_for(
        &mut arrivals,
        deadline,
        &Handled::Created {
            id,
            version: Some(0),
        },
    )
    .await?;

    let path = format!("/product/{id}");
    api.send(
        reqwest::Method::PUT,
        &path,
        Some(json!({"name": "Espresso 250 g"})),
    )
    .await?;
    let updated = api
        .send(
            reqwest::Method::PUT,
            &path,
            Some(json!({"name": "Espresso 500 g"})),
        )
        .await?;
    let last = updated["version"].as_i64();
    wait_for(
        &mut arrivals,
        deadline,
        &Handled::Updated { id, version: last },
    )
    .await?;

    api.send(reqwest::Method::DELETE, &path, None).await?;
    wait_for(&mut arrivals, deadline, &Handled::Deleted { id }).await?;

    println!(
        "All arrived: the creation, the last update (version {}) and the deletion of product {id}.",
        last.unwrap_or_default()
    );
    println!(
        "Next: the same with the server as its own process, in docs/examples.md \
         (`cargo run --release -p tripletex-webhooks-server`, then the axum_receiver and \
         subscribe examples)."
    );
    server.shutdown().await;
    Ok(())
}

/// Prints the typed event in a line and says what it was.
fn describe(change: &TypedWebhook<ObjectChange<Product>>) -> Handled {
    let id = change.id;
    let (handled, product) = match &change.payload {
        ObjectChange::Created(product) => (
            Handled::Created {
                id,
                version: product.version.map(i64::from),
            },
            product,
        ),
        ObjectChange::Updated(product) => (
            Handled::Updated {
                id,
                version: product.version.map(i64::from),
            },
            product,
        ),
        ObjectChange::Deleted => {
            println!(
                "  handled {}  id {id} (a delete carries only the id)",
                change.event
            );
            return Handled::Deleted { id };
        }
    };
    let version = product
        .version
        .map_or_else(|| "-".to_owned(), |v| v.to_string());
    println!(
        "  handled {}  id {id}, version {version}, name {:?}",
        change.event,
        product.name.as_deref().unwrap_or_default()
    );
    handled
}

/// Waits until the handler reports `expected`; other arrivals (such as an
/// intermediate version) are printed by the handler and skipped here.
async fn wait_for(
    arrivals: &mut mpsc::UnboundedReceiver<Handled>,
    deadline: Instant,
    expected: &Handled,
) -> Result<(), Box<dyn Error>> {
    loop {
        match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Ok(Some(event)) if event == *expected => return Ok(()),
            Ok(Some(_)) => {}
            Ok(None) => return Err("the receiver stopped".into()),
            Err(_) => {
                return Err(format!(
                    "{expected} was not handled within {} s of the first change; \
                     see `GET /_emulator/deliveries` on the server for the attempts",
                    DEADLINE.as_secs()
                )
                .into());
            }
        }
    }
}

/// The object endpoints of the server (the client crate manages
/// subscriptions, not objects).
struct ObjectApi {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl ObjectApi {
    /// Sends one request and returns its `value` (`null` for a 204).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Box<dyn Error>> {
        let line = match &body {
            Some(body) => format!("{method} /v2{path} {body}"),
            None => format!("{method} /v2{path}"),
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("0", Some(self.token.expose_secret()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("{line}: {status} {text}").into());
        }
        let value = if text.is_empty() {
            Value::Null
        } else {
            let mut body: Value = serde_json::from_str(&text)?;
            body.get_mut("value").map(Value::take).unwrap_or_default()
        };
        match value.get("version") {
            Some(version) => println!("{line} -> {status}, version {version}"),
            None => println!("{line} -> {status}"),
        }
        Ok(value)
    }
}
