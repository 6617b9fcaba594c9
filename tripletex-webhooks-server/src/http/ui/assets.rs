//! The dashboard's stylesheet and script, compiled into the binary.

use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

/// The stylesheet.
const CSS: &str = include_str!("assets/dashboard.css");
/// The live updates: one small module of our own.
const LIVE_JS: &str = include_str!("assets/live.js");

/// `GET /_emulator/ui/assets/dashboard.css`.
pub(crate) async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /_emulator/ui/assets/live.js`.
pub(crate) async fn live_js() -> Response {
    asset("text/javascript; charset=utf-8", LIVE_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidated each time: a new build of the server brings new assets.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
