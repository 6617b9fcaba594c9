//! `GET /health` and `GET /ready`, for load balancers and orchestrators:
//! without authentication, at the root (not under `/v2`, which is
//! Tripletex's API).
//!
//! `/health` says the process serves HTTP. `/ready` says it can do its work:
//! the database answers a query (within [`READY_TIMEOUT`]) and the delivery
//! dispatcher runs; otherwise 503 with an `ApiError` naming what is wrong.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::http::error::ServerError;
use crate::http::state::AppState;

/// How long `/ready` waits for the database.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({"value": {"status": "UP"}}))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ServerError> {
    let mut problems = Vec::new();
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            problems.push("the database does not answer".to_owned());
        }
        Err(_) => problems.push(format!(
            "the database did not answer within {READY_TIMEOUT:?}"
        )),
    }
    if !state.delivery.is_running() {
        problems.push("delivery is stopped".to_owned());
    }
    if problems.is_empty() {
        Ok(Json(
            json!({"value": {"status": "READY", "database": "UP", "delivery": "RUNNING"}}),
        ))
    } else {
        Err(ServerError::Unavailable(format!(
            "Not ready: {}.",
            problems.join("; ")
        )))
    }
}
