//! Receive Tripletex webhooks in axum (or any tower stack): authenticated,
//! decoded into typed events, and deduplicated by object version.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::post};
//! use tower::ServiceExt as _;
//! use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
//! use tripletex_webhooks_types::{secrecy::SecretString, signature, EventPayload, ObjectChange};
//!
//! async fn handler(webhook: Webhook) -> StatusCode {
//!     if let EventPayload::Product(ObjectChange::Updated(product)) = &webhook.payload {
//!         println!("product {} is now {:?}", webhook.id, product.name);
//!     }
//!     StatusCode::OK // anything else: nothing recorded, Tripletex retries
//! }
//!
//! // What the subscription was created with.
//! let config = WebhookConfig::builder()
//!     .header_auth("X-Tripletex-Token", "t0ken")   // authHeaderName / authHeaderValue
//!     .hmac_secret("shared-secret")                 // hmacSharedSecret
//!     .build()?;
//! let app = Router::new()
//!     .route("/webhooks/tripletex", post(handler))
//!     .layer(TripletexWebhookLayer::new(config.clone()));
//!
//! // A callback as Tripletex sends it.
//! let body = r#"{"subscriptionId":3,"event":"product.update","id":7,
//!                "value":{"id":7,"version":4,"name":"Espresso"}}"#;
//! let signed = signature::sign(&SecretString::from("shared-secret"), "delivery-1", body.as_bytes());
//! let callback = || {
//!     Request::post("/webhooks/tripletex")
//!         .header("content-type", "application/json")
//!         .header("x-tripletex-token", "t0ken")
//!         .header("idempotency-key", "delivery-1")
//!         .header("x-request-signature", &signed)
//!         .body(Body::from(body))
//! };
//! assert_eq!(app.clone().oneshot(callback()?).await?.status(), StatusCode::OK);
//! // A retry of version 4 is acknowledged without calling the handler again.
//! assert_eq!(app.oneshot(callback()?).await?.status(), StatusCode::OK);
//! assert_eq!((config.snapshot().accepted, config.snapshot().duplicate), (1, 1));
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! - **Authentication first**, before the body is decoded or anything is
//!   stored: the custom header (the guide's recommended mechanism), Basic
//!   credentials from `user:password@` in the target URL, a query token, and
//!   the HMAC `x-request-signature` over `idempotency-key + "&" + body` on the
//!   exact bytes received. Any combination can be required, each with several
//!   accepted secrets for rotation; comparisons are constant-time and secrets
//!   are [`secrecy`] types. Failures answer 401 without saying which check
//!   failed (the reason goes to tracing).
//! - **Decoding**: the body is capped (default 1 MiB: 413), must be JSON
//!   (415), and decodes with [`tripletex_webhooks_types`] into a
//!   [`TripletexEvent`](tripletex_webhooks_types::TripletexEvent); unknown
//!   events and fields are kept, never rejected; a delete with a value or a
//!   create without one is 400. The raw bytes stay available.
//! - **Version-aware deduplication**: per object (subject + id, shared by its
//!   create/update/delete events and by all subscriptions), a version not
//!   newer than the one handled is acknowledged with 200 without calling the
//!   handler; a delete is a tombstone that makes later creates and updates
//!   stale. Without a version the `idempotency-key` decides; without either the
//!   delivery passes through. The version is recorded only after the handler
//!   succeeded, and deliveries of one object are handled one at a time.
//!   See [`dedup`] and the [`DedupStore`]s: [`MemoryStore`] (bounded, the
//!   default) and `SqliteStore` (durable, feature `sqlite`, on by default).
//! - **Visible decisions**: [`Delivery`] tells the handler what was decided;
//!   [`Metrics`] counts accepted, stale, duplicate, unkeyed, unauthorized,
//!   malformed, failed deliveries, also emitted as tracing events.
//!
//! # The pieces
//!
//! - [`WebhookConfig`]: authentication, limits, store (built with a builder).
//! - [`TripletexWebhookLayer`]: the tower middleware.
//! - [`Webhook`]: the axum extractor for the handler.
//! - [`Dispatcher`]: typed routing (`on_product`, `on("order.delete", ..)`).
//! - [`Receiver`]: the same pipeline without a framework.
//! - `test_util` (feature `test-util`): signed requests for your own tests.

mod config;
mod core;
mod dispatcher;
pub mod error;
mod extract;
mod layer;
pub mod metrics;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use crate::config::{ConfigError, DEFAULT_BODY_LIMIT, WebhookConfig, WebhookConfigBuilder};
pub use crate::core::auth::AuthFailure;
pub use crate::core::dedup::{DedupKey, Freshness, Mark, Seen};
pub use crate::core::{Admission, Admitted, CheckedHead, Commit, Receiver, auth, dedup};
pub use crate::dispatcher::{
    DispatchFuture, DispatchServiceFuture, Dispatched, Dispatcher, HandlerOutcome, TypedWebhook,
};
pub use crate::error::{BadRequest, BoxError, MissingWebhook, Rejection};
pub use crate::extract::{Delivery, Webhook};
pub use crate::layer::{ResponseFuture, TripletexWebhookLayer, TripletexWebhookService};
pub use crate::metrics::{Metrics, MetricsSnapshot};
#[cfg(feature = "sqlite")]
pub use crate::store::SqliteStore;
pub use crate::store::{DedupStore, MemoryStore, StoreError};

/// `secrecy`, re-exported so configuration secrets name the same types.
pub use secrecy;
/// The wire types, re-exported.
pub use tripletex_webhooks_types as types;
