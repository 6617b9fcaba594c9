//! The mirror process: the chaos test runs its own executable with
//! [`CHILD`] set. It serves the mirror's webhooks (behind a switch that
//! answers 503 while "down") and a control API, then starts the mirror,
//! printing progress lines the parent watches.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tripletex_webhooks_client::Client;
use tripletex_webhooks_mirror::Mirror;

use crate::SUBJECTS;

/// Set (to anything) to run as the mirror process.
pub const CHILD: &str = "MIRROR_CHAOS_CHILD";
/// The server's API base URL.
pub const BASE_URL: &str = "MIRROR_CHAOS_BASE_URL";
/// A session token valid whatever the server clock says (the test moves it
/// by days, past what a renewed session would be given).
pub const TOKEN: &str = "MIRROR_CHAOS_TOKEN";
/// The mirror's store URL.
pub const STORE: &str = "MIRROR_CHAOS_STORE";
/// The address to serve on.
pub const LISTEN: &str = "MIRROR_CHAOS_LISTEN";
/// Objects per sync page.
pub const PAGE_SIZE: i64 = 100;

pub fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
    ExitCode::SUCCESS
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

async fn run() {
    let listen = env(LISTEN);
    let client = Client::builder()
        .base_url(env(BASE_URL))
        .session_token(env(TOKEN))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut builder = Mirror::builder()
        .client(client)
        .target_url(format!("http://{listen}/tripletex/webhooks"))
        .auth_header("X-Api-Key", "chaos-key")
        .hmac_secret("chaos-secret")
        .store_url(env(STORE))
        .propagation(Duration::ZERO)
        .page_size(PAGE_SIZE)
        .on_progress(|p| {
            println!(
                "PROGRESS {} pages={} objects={} done={} elapsed={:.1?}",
                p.subject, p.pages, p.objects, p.done, p.elapsed
            );
        });
    for (subject, _, fields) in SUBJECTS {
        builder = builder.subject(subject, fields);
    }
    let mirror = builder.build().await.unwrap();
    let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
    let down = Arc::new(AtomicBool::new(false));
    tokio::spawn(axum::serve(listener, app(&mirror, &down)).into_future());
    println!("LISTENING {listen}");
    let report = mirror.start().await.unwrap();
    println!("STARTED applied={}", report.applied);
    std::future::pending::<()>().await;
}

/// The mirror's webhooks behind the down switch, and the control routes.
fn app(mirror: &Mirror, down: &Arc<AtomicBool>) -> Router {
    let switch = Arc::clone(down);
    let webhooks = mirror.webhooks().unwrap().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let down = switch.load(Ordering::SeqCst);
            async move {
                if down {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    next.run(request).await
                }
            }
        },
    ));
    let control = Router::new()
        .route("/control/down", post(set_down))
        .route("/control/up", post(set_up))
        .route("/control/health", post(health))
        .with_state((mirror.clone(), Arc::clone(down)));
    webhooks.merge(control)
}

type Control = State<(Mirror, Arc<AtomicBool>)>;

async fn set_down(State((_, down)): Control) {
    down.store(true, Ordering::SeqCst);
}

async fn set_up(State((_, down)): Control) {
    down.store(false, Ordering::SeqCst);
}

/// Runs `health` (re-enable, then resync) and answers its report.
async fn health(State((mirror, _)): Control) -> Json<Value> {
    let report = mirror.health().await.unwrap();
    Json(json!({
        "reenabled": report.reenabled.len(),
        "seen": report.resync.seen,
        "repaired_updates": report.resync.repaired_updates,
        "repaired_deletes": report.resync.repaired_deletes,
        "confirmed_present": report.resync.confirmed_present,
    }))
}
