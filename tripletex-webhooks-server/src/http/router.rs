//! The router: every route, and the layers each request passes through.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::http::api;
use crate::http::conn::Refusal;
use crate::http::error::ServerError;
use crate::http::middleware::finish_response;
use crate::http::state::AppState;

/// The whole HTTP API.
pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(api::health::routes())
        .merge(api::tokens::routes())
        .merge(api::events::routes())
        .merge(api::subscriptions::routes())
        .merge(api::resources::routes())
        .merge(crate::http::openapi::routes(state.emulator_api));
    if state.emulator_api {
        router = router
            .merge(api::emulator::routes())
            .merge(crate::http::ui::routes());
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
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request. Its target is logged redacted: query values and
/// path segments may be credentials (`consumerToken`, session tokens).
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        target = %crate::redact::request_target(request.uri()),
        version = ?request.version(),
        refused = request.extensions().get::<Refusal>().map(tracing::field::debug),
    )
}
