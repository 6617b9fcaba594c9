//! The application: shared state and the router.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use secrecy::SecretString;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::clock::Clock;
use crate::error::ServerError;
use crate::middleware::finish_response;
use crate::rate_limit::RateLimiter;
use crate::store::{Company, Outbox, Store};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The outbox (the delivery log and redelivery of the emulator API).
    pub outbox: Arc<dyn Outbox>,
    /// The server clock.
    pub clock: Clock,
    /// The rate limiter.
    pub rate_limiter: Arc<RateLimiter>,
    /// The scheme-less base of `url` fields, e.g. `127.0.0.1:8080/v2`.
    pub url_base: String,
    /// The consumer token sessions must be created with.
    pub consumer_token: SecretString,
    /// The companies, by employee-token digest.
    pub companies: Arc<HashMap<String, Company>>,
    /// The largest accepted request body.
    pub body_limit: usize,
    /// Whether `/_emulator` is served.
    pub emulator_api: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("url_base", &self.url_base)
            .field("companies", &self.companies.len())
            .field("body_limit", &self.body_limit)
            .field("emulator_api", &self.emulator_api)
            .finish_non_exhaustive()
    }
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(api::tokens::routes())
        .merge(api::events::routes())
        .merge(api::subscriptions::routes())
        .merge(api::resources::routes())
        .merge(crate::openapi::routes(state.emulator_api));
    if state.emulator_api {
        router = router.merge(api::emulator::routes());
    }
    router
        .fallback(|| async { ServerError::NotFound("No such endpoint.".to_owned()) })
        // Bodies are read by our own extractor, which enforces `body_limit`.
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            finish_response,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
