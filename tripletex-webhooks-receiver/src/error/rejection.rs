//! [`Rejection`]: a refused delivery, with its status; [`MissingWebhook`]: the
//! extractor's error when the layer is not installed.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use tripletex_webhooks_types::DecodeError;

use crate::core::auth::AuthFailure;
use crate::credentials::ResolveError;
use crate::store::StoreError;

/// The `WWW-Authenticate` challenge sent with 401 when Basic is configured.
const BASIC_CHALLENGE: &str = r#"Basic realm="tripletex-webhooks", charset="UTF-8""#;

/// Why a delivery was refused before reaching the handler.
///
/// These are all the statuses the receiver itself answers with (besides 200
/// for stale and duplicate deliveries):
///
/// | variant | status |
/// |---|---|
/// | [`Unauthorized`](Self::Unauthorized) | 401, with `WWW-Authenticate: Basic` when Basic is configured |
/// | [`MethodNotAllowed`](Self::MethodNotAllowed) | 405, with `Allow: POST` |
/// | [`PayloadTooLarge`](Self::PayloadTooLarge) | 413 |
/// | [`UnsupportedMediaType`](Self::UnsupportedMediaType) | 415 |
/// | [`BadRequest`](Self::BadRequest) | 400 |
/// | [`StoreUnavailable`](Self::StoreUnavailable) | 503, so Tripletex retries |
/// | [`Busy`](Self::Busy) | 503 with `Retry-After`, so Tripletex retries |
/// | [`CredentialsUnavailable`](Self::CredentialsUnavailable) | 503, so Tripletex retries |
///
/// The response body never says which authentication check failed; the
/// reason goes to tracing (and is here for callers of
/// [`Receiver`](crate::Receiver)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Authentication failed.
    #[error("unauthorized ({reason})")]
    Unauthorized {
        /// Which check failed; never sent to the peer.
        reason: AuthFailure,
        /// Whether the response challenges for Basic credentials.
        challenge_basic: bool,
    },
    /// Not a POST.
    #[error("method not allowed: webhooks are POSTed")]
    MethodNotAllowed,
    /// The body (declared or read) exceeds the configured limit.
    #[error("payload too large: the limit is {limit} bytes")]
    PayloadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// `Content-Type` is not JSON.
    #[error("unsupported media type: webhooks are JSON")]
    UnsupportedMediaType,
    /// The request or its body is malformed.
    #[error("bad request: {0}")]
    BadRequest(#[source] BadRequest),
    /// The dedup store failed; nothing was handled.
    #[error("the dedup store is unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// Another route or replica over the same store held the object's claim
    /// (it is handling another delivery of the same object) for longer than
    /// the configured
    /// [claim wait](crate::WebhookConfigBuilder::claim_wait); nothing was
    /// handled.
    #[error("another route or replica is handling this object; retry after {retry_after:?}")]
    Busy {
        /// When the other claim lapses at the latest (at least a second): sent
        /// as `Retry-After`, in whole seconds.
        retry_after: Duration,
    },
    /// The [`CredentialResolver`](crate::CredentialResolver) failed; nothing
    /// was verified or handled.
    #[error("the credentials could not be looked up")]
    CredentialsUnavailable(#[source] ResolveError),
}

/// What is malformed about a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BadRequest {
    /// `Content-Length` is repeated or not a number.
    #[error("invalid Content-Length")]
    ContentLength,
    /// `idempotency-key` is repeated or not visible ASCII.
    #[error("invalid idempotency-key header")]
    IdempotencyKey,
    /// The body could not be read.
    #[error("the body could not be read")]
    UnreadableBody,
    /// The body is not a valid webhook: not an envelope, a delete with a value,
    /// a create or update without one, or a value that does not fit its model.
    #[error("invalid webhook: {0}")]
    Decode(#[source] DecodeError),
}

impl Rejection {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::StoreUnavailable(_) | Self::Busy { .. } | Self::CredentialsUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// A stable snake_case name of the kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::BadRequest(_) => "bad_request",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::Busy { .. } => "busy",
            Self::CredentialsUnavailable(_) => "credentials_unavailable",
        }
    }

    /// The body sent to the peer: the status's reason, plus the decoding
    /// error for an (already authenticated) malformed webhook.
    fn body(&self) -> String {
        match self {
            Self::BadRequest(reason) => reason.to_string(),
            other => other
                .status()
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.body()).into_response();
        match self {
            Self::Unauthorized {
                challenge_basic: true,
                ..
            } => {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
            }
            Self::MethodNotAllowed => {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
            }
            Self::Busy { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            _ => {}
        }
        response
    }
}

/// The [`Webhook`](crate::Webhook) extractor's rejection: the request did not
/// pass through [`TripletexWebhookLayer`](crate::TripletexWebhookLayer), or
/// the webhook was already taken out of it. A wiring mistake, so 500.
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error("no webhook in the request: is TripletexWebhookLayer installed on this route?")]
pub struct MissingWebhook;

impl IntoResponse for MissingWebhook {
    fn into_response(self) -> Response {
        tracing::error!(target: "tripletex_webhooks_receiver", "{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
