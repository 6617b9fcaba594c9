//! The server's one error type, and its mapping to HTTP and Tripletex's `ApiError`.
//!
//! Handlers return [`ServerError`]; its `IntoResponse` puts the `ApiError` in
//! the response's extensions, and the request-id middleware serializes it with
//! the request id filled in, so every error body is built in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tripletex_webhooks_types::{ApiError, ApiValidationMessage, ErrorCode};

use crate::domain::query::QueryError;
use crate::domain::resources::validate::InvalidBody;
use crate::store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerError {
    /// Missing, wrong or expired credentials (401, code 3000).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Credentials that are fine but not allowed for this request, such as
    /// a dashboard cookie on a form posted from another origin (403, code 9000).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The object or route does not exist, or belongs to another company (404, code 6000).
    #[error("not found: {0}")]
    NotFound(String),
    /// Input failed validation (422, code 18000).
    #[error("validation failed")]
    Validation(Vec<ApiValidationMessage>),
    /// A stale `version` (409, code 8000).
    #[error("revision conflict: {0}")]
    Revision(String),
    /// The body is not JSON (422, code 22000).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON of the wrong shape (422, code 16000).
    #[error("mapping failed: {0}")]
    Mapping(String),
    /// Fields of the body do not map onto the model (422, code 16000), one
    /// message per field path.
    #[error("mapping failed for {} field(s)", .0.len())]
    MappingFields(Vec<ApiValidationMessage>),
    /// A malformed query parameter (422, code 21000).
    #[error("invalid parameter: {0}")]
    Param(String),
    /// A malformed `fields` filter (400, code 11000).
    #[error("illegal fields filter: {0}")]
    IllegalFilter(String),
    /// A malformed `sorting` (422, code 17000).
    #[error("illegal sorting: {0}")]
    Sorting(String),
    /// A request that cannot be understood (400, code 4000).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request body is larger than the limit (413).
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request target is longer than the limit (414, code 4000).
    #[error("request target longer than {limit} bytes")]
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The header fields are too large or too many (431, code 4000).
    #[error("request header fields too large: {0}")]
    HeadersTooLarge(String),
    /// The server cannot serve this now (503, code 1000).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The caller exceeded the rate limit (429).
    #[error("rate limit exceeded")]
    RateLimited,
    /// Storage failed (500, code 1000; 503 when the database is out of
    /// reach). `?` on a [`StoreError`] maps
    /// `NotFound` to [`ServerError::NotFound`] and `Conflict` to
    /// [`ServerError::Revision`]; only backend failures end up here.
    #[error("storage error: {0}")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ServerError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound(error.to_string()),
            StoreError::Conflict { .. } => Self::Revision(error.to_string()),
            StoreError::Unavailable(_) | StoreError::Backend(_) | StoreError::Unreadable { .. } => {
                Self::Store(error)
            }
        }
    }
}

impl From<InvalidBody> for ServerError {
    fn from(error: InvalidBody) -> Self {
        match error {
            InvalidBody::Fields(messages) => Self::Validation(messages),
            InvalidBody::Mapping(messages) => Self::MappingFields(messages),
        }
    }
}

impl From<QueryError> for ServerError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Sorting(detail) => Self::Sorting(detail),
            QueryError::Param(detail) => Self::Param(detail),
        }
    }
}

impl ServerError {
    /// One validation message as an error.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![ApiValidationMessage::new(field, message)])
    }

    /// The `ApiError` body for this error.
    pub(crate) fn to_api_error(&self) -> ApiError {
        match self {
            Self::Unauthorized(detail) => ApiError::new(ErrorCode::Authentication, "Unauthorized")
                .with_developer_message(detail.clone()),
            Self::Forbidden(detail) => ApiError::new(ErrorCode::Security, "Forbidden")
                .with_developer_message(detail.clone()),
            Self::NotFound(detail) => ApiError::new(ErrorCode::NotFound, "Object not found")
                .with_developer_message(detail.clone()),
            Self::Validation(messages) => ApiError::validation(messages.clone()),
            Self::Revision(detail) => ApiError::new(
                ErrorCode::Revision,
                "The object has been changed since it was read; fetch it again and retry.",
            )
            .with_developer_message(detail.clone()),
            Self::InvalidJson(detail) => {
                ApiError::new(ErrorCode::InvalidJson, "Invalid JSON in request body.")
                    .with_developer_message(detail.clone())
            }
            Self::Mapping(detail) => {
                ApiError::new(ErrorCode::Mapping, "The request body could not be mapped.")
                    .with_developer_message(detail.clone())
            }
            Self::MappingFields(messages) => ApiError {
                validation_messages: Some(messages.clone()),
                ..ApiError::new(ErrorCode::Mapping, "The request body could not be mapped.")
                    .with_developer_message(
                        messages
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
            },
            Self::Param(detail) => ApiError::new(ErrorCode::Param, detail.clone()),
            Self::IllegalFilter(detail) => ApiError::new(ErrorCode::IllegalFilter, detail.clone()),
            Self::Sorting(detail) => ApiError::new(ErrorCode::Sorting, detail.clone()),
            Self::BadRequest(detail) => ApiError::new(ErrorCode::BadRequest, detail.clone()),
            Self::PayloadTooLarge { limit } => ApiError {
                status: 413,
                ..ApiError::new(
                    ErrorCode::BadRequest,
                    format!("Request body larger than {limit} bytes."),
                )
            },
            Self::UriTooLong { limit } => ApiError {
                status: 414,
                ..ApiError::new(
                    ErrorCode::BadRequest,
                    format!("The request target (path and query) is longer than {limit} bytes."),
                )
            },
            Self::HeadersTooLarge(detail) => ApiError {
                status: 431,
                ..ApiError::new(ErrorCode::BadRequest, detail.clone())
            },
            Self::Unavailable(detail) => ApiError {
                status: 503,
                ..ApiError::new(ErrorCode::Exception, detail.clone())
            },
            Self::RateLimited => ApiError {
                status: 429,
                ..ApiError::new(
                    ErrorCode::Other(0),
                    "Too many requests: rate limit exceeded.",
                )
            },
            // Storage details stay in the logs, not in the response.
            Self::Store(StoreError::Unavailable(_)) => ApiError {
                status: 503,
                ..ApiError::new(
                    ErrorCode::Exception,
                    "The service is temporarily unavailable; try again shortly.",
                )
            },
            Self::Store(_) => ApiError::new(ErrorCode::Exception, "An internal error occurred."),
        }
    }
}

/// An `ApiError` waiting in a response's extensions for its request id.
#[derive(Debug, Clone)]
pub(crate) struct PendingApiError(pub(crate) ApiError);

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        if let Self::Store(error) = &self {
            tracing::error!(%error, "storage failure");
        }
        api_error_response(self.to_api_error())
    }
}

/// A response carrying `error`; its body is written by the request-id middleware.
pub(crate) fn api_error_response(error: ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = status.into_response();
    response.extensions_mut().insert(PendingApiError(error));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_code_table() {
        let cases: Vec<(ServerError, u16, i32)> = vec![
            (ServerError::Unauthorized("x".into()), 401, 3000),
            (ServerError::NotFound("x".into()), 404, 6000),
            (ServerError::invalid("event", "unknown"), 422, 18000),
            (ServerError::Revision("x".into()), 409, 8000),
            (ServerError::InvalidJson("x".into()), 422, 22000),
            (ServerError::Mapping("x".into()), 422, 16000),
            (ServerError::IllegalFilter("x".into()), 400, 11000),
            (ServerError::Sorting("x".into()), 422, 17000),
            (ServerError::Param("x".into()), 422, 21000),
            (ServerError::BadRequest("x".into()), 400, 4000),
            (ServerError::PayloadTooLarge { limit: 1 }, 413, 4000),
            (ServerError::UriTooLong { limit: 1 }, 414, 4000),
            (ServerError::HeadersTooLarge("x".into()), 431, 4000),
            (ServerError::Unavailable("x".into()), 503, 1000),
            (
                ServerError::Store(StoreError::Backend("disk".into())),
                500,
                1000,
            ),
            (
                ServerError::from(StoreError::Unavailable("connection refused".into())),
                503,
                1000,
            ),
            (
                ServerError::from(StoreError::NotFound {
                    what: "subscription",
                    id: 1,
                }),
                404,
                6000,
            ),
            (
                ServerError::from(StoreError::Conflict {
                    what: "subscription",
                    id: 1,
                    expected: 0,
                    actual: 1,
                }),
                409,
                8000,
            ),
        ];
        for (error, status, code) in cases {
            let api = error.to_api_error();
            assert_eq!((api.status, api.code.as_i32()), (status, code), "{error}");
            assert_eq!(error.into_response().status().as_u16(), status);
        }
    }
}
