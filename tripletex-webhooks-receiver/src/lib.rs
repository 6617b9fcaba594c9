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
//!     let event = webhook.event();
//!     if let EventPayload::Product(ObjectChange::Updated(product)) = &event.payload {
//!         println!("product {} is now {:?}", event.id, product.name);
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
//!   default), `SqliteStore` (durable, feature `sqlite`, on by default), and
//!   for replicas `PostgresStore` (feature `postgres`) and `RedisStore`
//!   (feature `redis`); see [Replicas](#replicas).
//! - **Visible decisions**: [`Delivery`] tells the handler what was decided;
//!   [`Metrics`] counts accepted, stale, duplicate, unkeyed, unauthorized,
//!   malformed, failed deliveries, also emitted as tracing events.
//!
//! # Replicas
//!
//! Several receiver replicas behind a load balancer share one store, so
//! that each object version is handled once across all of them:
//! `PostgresStore` (feature `postgres`) or `RedisStore` (feature `redis`),
//! or `SqliteStore` for processes on one machine. The same goes for the
//! routes of one application: with a route (and a [`WebhookConfig`]) per
//! subscription over one store, each change arrives at every route at once,
//! since Tripletex sends it to every subscription. Within one configuration,
//! deliveries of one object wait for each other (a per-object lock);
//! between configurations, store handles and processes, every store
//! arbitrates with a **claim** per object:
//!
//! 1. Before the handler runs, the receiver [claims](DedupStore::claim) the
//!    object (or, without a version, the idempotency key) with a [`Lease`]:
//!    one atomic operation in the store that compares the delivery with what
//!    was handled and, if it is new and no other lease holds the object,
//!    takes the claim. The answer is a [`Claim`]:
//!    - [`Claimed`](Claim::Claimed): the handler runs;
//!    - [`AlreadyHandled`](Claim::AlreadyHandled): a duplicate or stale
//!      delivery, answered 200 without the handler;
//!    - [`Busy`](Claim::Busy): another route or replica is handling this
//!      object (any version of it). The receiver retries the claim with
//!      backoff for up to the [claim wait](WebhookConfigBuilder::claim_wait)
//!      (default two seconds: usually the other handler finishes well
//!      within it), then answers **503 with `Retry-After`**
//!      ([`Rejection::Busy`], counted as [`MetricsSnapshot::busy`]):
//!      Tripletex retries it later, when it is handled or found duplicate or
//!      stale.
//! 2. When the handler succeeded, the receiver [commits](DedupStore::commit):
//!    records the version monotonically and releases the claim, atomically.
//!    When it failed, it [releases](DedupStore::release) the claim, recording
//!    nothing, so that Tripletex's retry, at any replica, can claim at once.
//! 3. A claim neither committed nor released (the replica crashed) lapses
//!    after its TTL ([claim TTL](WebhookConfigBuilder::claim_ttl), default a
//!    minute): until then other replicas answer that object's deliveries
//!    with 503, after it they handle them. Keep the TTL well above the
//!    slowest handler: a handler outliving its claim may overlap with
//!    another replica's (logged as a warning).
//!
//! Claims carry a unique token, so a replica only ever commits or releases
//! its own claim, never one taken after its own lapsed. The guarantee is
//! the same as in one process: per object, one handler at a time, never for
//! a version older than (or equal to) one already handled, so each version
//! is handled successfully at most once, across all replicas; a failed
//! handler is retried. A store failure when recording after the handler
//! succeeded is the one case where a redelivery is handled again (at least
//! once, never lost). Every store keeps its own claims: [`MemoryStore`] in
//! memory, for every receiver in the process that shares it; `SqliteStore`
//! in the database file, for every handle and process on it; the shared
//! stores in PostgreSQL or Redis.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use axum::{Router, http::StatusCode, routing::post};
//! use tripletex_webhooks_receiver::store::{PostgresStore, RedisStore};
//! use tripletex_webhooks_receiver::{DedupStore, TripletexWebhookLayer, Webhook, WebhookConfig};
//!
//! async fn handler(webhook: Webhook) -> StatusCode {
//!     let event = webhook.event();
//!     println!("{} {} handled by exactly one replica", event.event, event.id);
//!     StatusCode::OK
//! }
//!
//! // Every replica runs this, against the same database (or Redis).
//! let store: Arc<dyn DedupStore> = match std::env::var("REDIS_URL") {
//!     Ok(url) => Arc::new(RedisStore::connect(&url).await?),
//!     Err(_) => Arc::new(PostgresStore::connect(&std::env::var("DATABASE_URL")?).await?),
//! };
//! let config = WebhookConfig::builder()
//!     .hmac_secret("shared-secret")
//!     .store(store)
//!     .claim_ttl(Duration::from_secs(30)) // the slowest handler, with margin
//!     .claim_wait(Duration::from_secs(2)) // then 503 + Retry-After
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/webhooks/tripletex", post(handler))
//!     .layer(TripletexWebhookLayer::new(config));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # The pieces
//!
//! - [`WebhookConfig`]: authentication, limits, store, claims (built with a
//!   builder).
//! - [`CredentialResolver`]: credentials per subscription or company, looked
//!   up per delivery and cached (see [`credentials`]).
//! - [`TripletexWebhookLayer`]: the tower middleware.
//! - [`Webhook`]: the axum extractor for the handler.
//! - [`Dispatcher`]: typed routing (`on_product`, `on(EventType, ..)`).
//! - [`Receiver`]: the same pipeline without a framework.
//! - `inbox` (features `sqlite`, `postgres`): acknowledge once stored in a
//!   durable inbox, handle from it with retries, dead letters and replay.
//! - [`future`]: the futures of the layer's service and the dispatcher.
//! - `test_util` (feature `test-util`): signed requests for your own tests,
//!   and `check_store`, the conformance suite of [`DedupStore`].

mod body;
mod config;
mod core;
pub mod credentials;
mod dispatcher;
pub mod error;
mod extract;
pub mod future;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod inbox;
mod layer;
pub mod metrics;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use crate::config::{
    ConfigError, DEFAULT_BODY_LIMIT, DEFAULT_CLAIM_TTL, DEFAULT_CLAIM_WAIT, WebhookConfig,
    WebhookConfigBuilder,
};
pub use crate::core::auth::AuthFailure;
pub use crate::core::dedup::{DedupKey, Freshness, Mark, Seen};
pub use crate::core::{Admission, Admitted, CheckedHead, Commit, Receiver, auth, dedup};
pub use crate::credentials::{
    CredentialResolver, Credentials, CredentialsBuilder, DEFAULT_CREDENTIAL_CAPACITY,
    DEFAULT_CREDENTIAL_TTL, DeliveryIdentity, ResolveError,
};
pub use crate::dispatcher::{Dispatched, Dispatcher, HandlerOutcome, TypedWebhook};
pub use crate::error::{BadRequest, BoxError, MissingWebhook, Rejection};
pub use crate::extract::{Delivery, Webhook};
pub use crate::layer::{TripletexWebhookLayer, TripletexWebhookService};
pub use crate::metrics::{Metrics, MetricsSnapshot};
#[cfg(feature = "postgres")]
pub use crate::store::PostgresStore;
#[cfg(feature = "redis")]
pub use crate::store::RedisStore;
#[cfg(feature = "sqlite")]
pub use crate::store::SqliteStore;
pub use crate::store::{Claim, DedupStore, Lease, MemoryStore, StoreError};

/// `secrecy`, re-exported so configuration secrets name the same types.
pub use secrecy;
/// The wire types, re-exported.
pub use tripletex_webhooks_types as types;
