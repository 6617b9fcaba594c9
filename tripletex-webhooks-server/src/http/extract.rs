//! Extractors that turn malformed input into the right `ApiError` instead of
//! axum's plain-text rejections.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tripletex_webhooks_types::fields::FieldsFilter;

use crate::http::error::ServerError;
use crate::http::state::AppState;

/// A JSON body: 413 past the body limit, 422 code 22000 when it is not JSON,
/// 422 code 16000 when it is JSON of the wrong shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ServerError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.body_limit;
        let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
            request.into_body(),
            limit,
        ))
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                ServerError::PayloadTooLarge { limit }
            } else {
                ServerError::BadRequest(format!("could not read the request body: {error}"))
            }
        })?
        .to_bytes();
        parse_json(&body).map(Self)
    }
}

/// Parses a body, telling syntax errors (22000) from shape errors (16000).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServerError> {
    serde_json::from_slice(body).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => ServerError::Mapping(error.to_string()),
            Category::Syntax | Category::Eof | Category::Io => {
                ServerError::InvalidJson(error.to_string())
            }
        }
    })
}

/// The query of a request, parsed leniently so each parameter can fail with
/// its own error.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Self(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    /// A raw parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter (422 code 21000 when missing).
    pub(crate) fn required(&self, name: &str) -> Result<&str, ServerError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ServerError::Param(format!("The query parameter '{name}' is required.")))
    }

    /// A non-negative integer parameter with a default.
    pub(crate) fn non_negative(&self, name: &str, default: i64) -> Result<i64, ServerError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ServerError::Param(format!(
                    "'{name}' must be a non-negative integer, not '{raw}'."
                ))
            }),
        }
    }

    /// `from` and `count` (defaults 0 and 1000, as Tripletex's).
    pub(crate) fn paging(&self) -> Result<(i64, i64), ServerError> {
        Ok((
            self.non_negative("from", 0)?,
            self.non_negative("count", 1000)?,
        ))
    }

    /// The `fields` filter (400 code 11000 when malformed); empty means the default shape.
    pub(crate) fn fields(&self) -> Result<FieldsFilter, ServerError> {
        let raw = self.get("fields").unwrap_or_default();
        FieldsFilter::parse(raw)
            .map_err(|error| ServerError::IllegalFilter(format!("Illegal field filter: {error}")))
    }
}
