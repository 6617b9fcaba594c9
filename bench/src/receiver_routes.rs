//! The receiver part's two routes, shared by the `bench` binary and the
//! `layer_instructions` example: the same axum route (the body parsed into a
//! `serde_json::Value`, then 200), bare or behind `TripletexWebhookLayer`.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use tripletex_webhooks_receiver::{ConfigError, TripletexWebhookLayer, WebhookConfig};

/// Where both routes listen.
pub const PATH: &str = "/webhooks/tripletex";
/// The authentication header the layer requires.
pub const AUTH_HEADER: &str = "x-tripletex-token";
/// Its value.
pub const AUTH_VALUE: &str = "bench-auth-header-value";
/// The HMAC secret requests are signed with.
pub const HMAC_SECRET: &str = "bench-hmac-shared-secret";

/// The route both variants run: parse the body into a `Value`, answer 200.
pub async fn parse_json(body: Bytes) -> StatusCode {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) if value.is_object() => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The layer's configuration: header auth, HMAC, the in-memory dedup store.
pub fn config() -> Result<WebhookConfig, ConfigError> {
    WebhookConfig::builder()
        .header_auth(AUTH_HEADER, AUTH_VALUE)
        .hmac_secret(HMAC_SECRET)
        .build()
}

/// (a) the bare route.
pub fn bare() -> Router {
    Router::new().route(PATH, post(parse_json))
}

/// (b) the same route behind the layer with `config`.
pub fn layered(config: WebhookConfig) -> Router {
    bare().route_layer(TripletexWebhookLayer::new(config))
}
