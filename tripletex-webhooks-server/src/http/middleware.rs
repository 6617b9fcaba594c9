//! The outermost layer: a request id on every response, the rate limit and
//! its headers, the request size limits, and an `ApiError` body on every
//! error response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tripletex_webhooks_types::{ApiError, ErrorCode};

use crate::digest::token_digest;
use crate::http::conn::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES, Refusal};
use crate::http::error::{PendingApiError, ServerError};
use crate::http::rate_limit::Quota;
use crate::http::state::AppState;

/// `x-tlx-request-id`, on every response and in every `ApiError`.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-tlx-request-id");

/// The `x-tlx-request-id` of the request being served, as a request
/// extension: the events a request causes carry it to their deliveries.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);
const LIMIT: HeaderName = HeaderName::from_static("x-rate-limit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-rate-limit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-rate-limit-reset");

/// Error bodies produced by axum itself (405, path rejections) are short; a cap
/// keeps a surprise from being buffered whole.
const MAX_FOREIGN_ERROR_BODY: usize = 4096;

/// Applies the rate limit and the size limits, then finishes the response:
/// request id, rate-limit headers and an `ApiError` body for every error.
pub(crate) async fn finish_response(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let quota = state.rate_limiter.check(&rate_limit_key(&request));
    let response = if quota.exceeded {
        ServerError::RateLimited.into_response()
    } else if let Some(error) = refused(&request, state.body_limit) {
        error.into_response()
    } else {
        next.run(request).await
    };
    let mut response = with_api_error_body(response, &request_id).await;
    set_headers(&mut response, &request_id, quota);
    response
}

/// Limits count per token, as Tripletex counts per employee and consumer.
fn rate_limit_key(request: &Request) -> String {
    request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "anonymous".to_owned(), token_digest)
}

/// Why `request` is not served: a head the connection layer refused
/// (HTTP/1), or limits the head breaks (checked here too for HTTP/2, whose
/// heads that layer does not see).
fn refused(request: &Request, body_limit: usize) -> Option<ServerError> {
    if let Some(refusal) = request.extensions().get::<Refusal>() {
        return Some(refusal_error(refusal, body_limit));
    }
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(refusal_error(&Refusal::UriTooLong, body_limit));
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADERS {
        return Some(refusal_error(&Refusal::TooManyHeaders, body_limit));
    }
    // Each field as sent on HTTP/1: `name: value` and a line end.
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (size > MAX_HEADER_BYTES).then(|| refusal_error(&Refusal::HeadersTooLarge, body_limit))
}

fn refusal_error(refusal: &Refusal, body_limit: usize) -> ServerError {
    match refusal {
        Refusal::UriTooLong => ServerError::UriTooLong {
            limit: MAX_URI_BYTES,
        },
        Refusal::HeadersTooLarge => ServerError::HeadersTooLarge(format!(
            "The request's header fields take more than {MAX_HEADER_BYTES} bytes."
        )),
        Refusal::TooManyHeaders => ServerError::HeadersTooLarge(format!(
            "The request has more than {MAX_HEADERS} header fields."
        )),
        Refusal::BodyTooLarge => ServerError::PayloadTooLarge { limit: body_limit },
        Refusal::Malformed(detail) => {
            ServerError::BadRequest(format!("The request could not be parsed: {detail}"))
        }
    }
}

async fn with_api_error_body(response: Response, request_id: &str) -> Response {
    let pending = response.extensions().get::<PendingApiError>().cloned();
    let error = match pending {
        Some(PendingApiError(error)) => error,
        // The dashboard's own error pages (a form that did not validate) are for people.
        None if is_html(&response) => return response,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            foreign_error(response).await
        }
        None => return response,
    };
    let error = error.with_request_id(request_id);
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&error).unwrap_or_default();
    let mut response = (status, Body::from(body)).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Whether a response is an HTML page (the dashboard's).
fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Turns an error response that did not come from our handlers (axum's own
/// 405, a path that does not parse, ...) into an `ApiError`.
async fn foreign_error(response: Response) -> ApiError {
    let status = response.status();
    let detail = match axum::body::to_bytes(response.into_body(), MAX_FOREIGN_ERROR_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let code = match status.as_u16() {
        401 => ErrorCode::Authentication,
        403 => ErrorCode::Security,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Revision,
        422 => ErrorCode::Mapping,
        500.. => ErrorCode::Exception,
        _ => ErrorCode::BadRequest,
    };
    let message = status.canonical_reason().unwrap_or("Error");
    let error = ApiError {
        status: status.as_u16(),
        ..ApiError::new(code, message)
    };
    if detail.is_empty() {
        error
    } else {
        error.with_developer_message(detail)
    }
}

fn set_headers(response: &mut Response, request_id: &str, quota: Quota) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(LIMIT, HeaderValue::from(quota.limit));
    headers.insert(REMAINING, HeaderValue::from(quota.remaining));
    headers.insert(RESET, HeaderValue::from(quota.reset_seconds));
}
