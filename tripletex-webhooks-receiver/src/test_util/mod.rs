//! Helpers for your own tests (feature `test-util`): build webhook requests as
//! Tripletex sends them, signed or not, and feed them to your app; hand a
//! handler a [`webhook`] without HTTP; run the [`DedupStore`](crate::DedupStore)
//! conformance suite ([`check_store`]) against a store of your own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, http::StatusCode, routing::post};
//! use serde_json::json;
//! use tower::ServiceExt;
//! use tripletex_webhooks_receiver::test_util::SignedRequest;
//! use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
//!
//! let config = WebhookConfig::builder()
//!     .header_auth("X-Tripletex-Token", "t0ken")
//!     .hmac_secret("shared-secret")
//!     .build()?;
//! let app = Router::new()
//!     .route("/hook", post(|_: Webhook| async { StatusCode::OK }))
//!     .layer(TripletexWebhookLayer::new(config));
//!
//! let request = SignedRequest::from_json(&json!({
//!         "subscriptionId": 1, "event": "product.create", "id": 7,
//!         "value": {"id": 7, "version": 0, "name": "Espresso"}
//!     }))
//!     .with_uri("/hook")
//!     .with_header("X-Tripletex-Token", "t0ken")
//!     .with_hmac("shared-secret")
//!     .into_request();
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! # Ok(()) }
//! ```

mod conformance;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use secrecy::SecretString;
use tripletex_webhooks_types::signature::{self, IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER};
use tripletex_webhooks_types::{DecodeError, TripletexEvent, WebhookEnvelope};

use crate::dedup::Freshness;
use crate::extract::{Delivery, Webhook};

pub use self::conformance::check_store;

/// A webhook request under construction: `POST /` with
/// `content-type: application/json`, a fresh `idempotency-key` and the body;
/// add credentials with the `with_*` methods.
///
/// The signature is computed in [`into_request`](Self::into_request), over
/// the final idempotency key and body.
#[derive(Debug, Clone)]
#[must_use]
pub struct SignedRequest {
    method: Method,
    uri: Uri,
    body: Bytes,
    idempotency_key: Option<String>,
    hmac: Option<SecretString>,
    headers: HeaderMap,
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

impl SignedRequest {
    /// A request carrying this envelope.
    pub fn new(envelope: &WebhookEnvelope) -> Self {
        // An envelope (strings, numbers, JSON values) always serializes.
        Self::from_body(serde_json::to_vec(envelope).unwrap_or_default())
    }

    /// A request carrying this JSON (need not be a valid envelope).
    pub fn from_json(json: &serde_json::Value) -> Self {
        Self::from_body(json.to_string())
    }

    /// A request carrying these exact bytes.
    pub fn from_body(body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static("tripletex-webhooks-test"),
        );
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        Self {
            method: Method::POST,
            uri: Uri::from_static("/"),
            body: body.into(),
            idempotency_key: Some(format!("test-delivery-{key}")),
            hmac: None,
            headers,
        }
    }

    /// The request target, with any query string.
    ///
    /// # Panics
    ///
    /// When `uri` is not a valid URI (a mistake in the test).
    pub fn with_uri(mut self, uri: &str) -> Self {
        self.uri = match uri.parse() {
            Ok(uri) => uri,
            Err(error) => panic!("SignedRequest::with_uri({uri:?}): {error}"),
        };
        self
    }

    /// Appends `name=value` (form-encoded) to the query string.
    pub fn with_query(self, name: &str, value: &str) -> Self {
        let pair = form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish();
        let uri = match self.uri.query() {
            Some(query) => format!("{}?{query}&{pair}", self.uri.path()),
            None => format!("{}?{pair}", self.uri.path()),
        };
        self.with_uri(&uri)
    }

    /// Another method than `POST`.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets a header, replacing earlier values of it.
    ///
    /// # Panics
    ///
    /// When the name or value is not valid in HTTP (a mistake in the test).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let (name, value) = header(name, value);
        self.headers.insert(name, value);
        self
    }

    /// Adds a header, keeping earlier values of it (to send it twice).
    ///
    /// # Panics
    ///
    /// When the name or value is not valid in HTTP (a mistake in the test).
    pub fn append_header(mut self, name: &str, value: &str) -> Self {
        let (name, value) = header(name, value);
        self.headers.append(name, value);
        self
    }

    /// Removes a header (such as `content-type`).
    pub fn without_header(mut self, name: &str) -> Self {
        if let Ok(name) = HeaderName::try_from(name) {
            self.headers.remove(name);
        }
        self
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn with_basic(self, user: &str, password: &str) -> Self {
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        self.with_header(AUTHORIZATION.as_str(), &format!("Basic {encoded}"))
    }

    /// The `idempotency-key` header (default: a fresh `test-delivery-N`).
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// No `idempotency-key` header.
    pub fn without_idempotency_key(mut self) -> Self {
        self.idempotency_key = None;
        self
    }

    /// Signs with this secret: `x-request-signature` over the idempotency key
    /// and the body, as Tripletex does (over an empty key when there is none).
    pub fn with_hmac(mut self, secret: impl Into<SecretString>) -> Self {
        self.hmac = Some(secret.into());
        self
    }

    /// The idempotency key the request will carry.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The request, signed if a secret was given.
    ///
    /// # Panics
    ///
    /// When the idempotency key is not a valid header value (a mistake in the test).
    pub fn into_request(self) -> Request<Body> {
        let mut headers = self.headers;
        if let Some(key) = &self.idempotency_key {
            let (name, value) = header(IDEMPOTENCY_KEY_HEADER, key);
            headers.insert(name, value);
            if let Some(secret) = &self.hmac {
                let signed = signature::sign(secret, key, &self.body);
                let (name, value) = header(SIGNATURE_HEADER, &signed);
                headers.insert(name, value);
            }
        } else if let Some(secret) = &self.hmac {
            let signed = signature::sign(secret, "", &self.body);
            let (name, value) = header(SIGNATURE_HEADER, &signed);
            headers.insert(name, value);
        }
        let mut request = Request::new(Body::from(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.headers_mut() = headers;
        request
    }
}

fn header(name: &str, value: &str) -> (HeaderName, HeaderValue) {
    match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        (Ok(name), Ok(value)) => (name, value),
        _ => panic!("invalid header {name:?}: {value:?}"),
    }
}

/// A [`Webhook`] as the layer would hand it to a handler for a first
/// delivery, to unit-test handlers and [`Dispatcher`](crate::Dispatcher)s
/// without HTTP.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tripletex_webhooks_receiver::BoxError> {
/// use tripletex_webhooks_receiver::test_util::webhook;
/// use tripletex_webhooks_receiver::{Dispatched, Dispatcher};
///
/// let dispatcher = Dispatcher::new().on_order(|change| async move {
///     assert_eq!(change.id, 4);
/// });
/// let delivery = webhook(br#"{"subscriptionId":1,"event":"order.delete","id":4,"value":null}"#)?;
/// assert_eq!(dispatcher.dispatch(delivery).await?, Dispatched::Handled);
/// # Ok(()) }
/// ```
pub fn webhook(body: &[u8]) -> Result<Webhook, DecodeError> {
    let envelope = WebhookEnvelope::from_slice(body)?;
    let version = envelope.object_version();
    let event: TripletexEvent = envelope.decode()?;
    Ok(Webhook {
        event,
        raw_body: Bytes::copy_from_slice(body),
        delivery: Delivery {
            idempotency_key: None,
            version,
            freshness: Freshness::New,
            key: None,
            previous: None,
        },
    })
}
