//! A form a dashboard page posts (`application/x-www-form-urlencoded`):
//! read up to the body limit, and only from the server's own pages.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};

use crate::http::error::ServerError;
use crate::http::state::AppState;
use crate::http::ui::session::require_same_origin;

/// The fields of a posted form (the last value of a repeated name). Some
/// are secrets (tokens, an HMAC secret): `Debug` shows only the names.
#[derive(Clone, Default)]
pub(crate) struct Form(HashMap<String, String>);

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Form {
    /// A field, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |value| value.trim())
    }

    /// A field exactly as sent (a body or a secret keeps its spaces).
    pub(crate) fn raw(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl FromRequest<AppState> for Form {
    type Rejection = ServerError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        require_same_origin(&parts)?;
        let limit = state.body_limit;
        let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(body, limit))
            .await
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    ServerError::PayloadTooLarge { limit }
                } else {
                    ServerError::BadRequest(format!("could not read the form: {error}"))
                }
            })?
            .to_bytes();
        Ok(Self(
            url::form_urlencoded::parse(&body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        ))
    }
}
