//! A typed async client for Tripletex's webhook API: the event catalogue
//! (`/event`), subscriptions (`/event/subscription`), reconciling them to a
//! desired set, and syncing the objects events name. reqwest (rustls) and the
//! wire types of [`tripletex_webhooks_types`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tripletex_webhooks_client::Client;
//! use tripletex_webhooks_types::{NewSubscription, SubscriptionStatus};
//!
//! // A local Tripletex (the bundled server); use PRODUCTION_BASE_URL or
//! // TEST_BASE_URL and your own tokens against Tripletex itself.
//! let server = tripletex_webhooks_server::RunningServer::start(
//!     tripletex_webhooks_server::ServerConfig::for_tests(),
//! ).await?;
//!
//! // The client creates a session token from these and renews it before it expires.
//! let client = Client::builder()
//!     .base_url(server.base_url())
//!     .consumer_token("local-consumer-token")
//!     .employee_token("local-employee-token")
//!     .build()?;
//!
//! // Subscribe to product.create, product.update and product.delete: safe at every start.
//! let target = "https://example.com/webhooks/tripletex";
//! let desired = ["product.create", "product.update", "product.delete"]
//!     .map(|event| NewSubscription::new(event.parse().expect("an event name"), target));
//! let report = client.subscriptions().reconcile(desired).apply().await?;
//! for subscription in report.subscriptions() {
//!     assert_eq!(subscription.status, Some(SubscriptionStatus::Active));
//! }
//! assert_eq!(client.subscriptions().list().all().await?.len(), 3);
//! # server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Resources
//!
//! - [`Client::events`] ([`Events`]): the catalogue and one event's examples.
//! - [`Client::subscriptions`] ([`Subscriptions`]): list (one page, or a
//!   `Stream` over all), get, create, update (optionally locked on `version`),
//!   delete, the bulk `/list` variants, [`reenable`](Subscriptions::reenable),
//!   and [`reconcile`](Subscriptions::reconcile) ([`Reconcile`]).
//! - [`Client::objects`] ([`Objects`]): one object by id
//!   (`GET /v2/<object>/{id}`, [`GetObject`]), typed or raw, with `fields`;
//!   a missing one fails with [`Error::is_not_found`].
//! - [`Client::sync`] ([`ObjectSync`]): a paged `Stream` over `GET /v2/<object>`
//!   that skips unchanged pages with `versionDigest`/`If-None-Match`.
//! - [`Client::who_am_i`]: who the credentials belong to.
//! - [`emulator::EmulatorClient`]: the bundled server's emulator API, for
//!   tests: emit events, read the delivery log, wait for deliveries on its
//!   live stream, redeliver, move the clock.
//!
//! # Errors, retries and logging
//!
//! Every call returns [`Error`]: ask it [`is_api`](Error::is_api),
//! [`is_rate_limited`](Error::is_rate_limited), [`is_timeout`](Error::is_timeout),
//! [`is_transport`](Error::is_transport), [`is_decode`](Error::is_decode),
//! [`is_auth`](Error::is_auth), [`is_conflict`](Error::is_conflict) or
//! [`is_not_found`](Error::is_not_found), and read the decoded
//! [`ApiError`](tripletex_webhooks_types::ApiError) with [`Error::api_error`].
//! GET, PUT and DELETE are retried on 429, 502, 503, 504 and connection
//! errors, honouring `X-Rate-Limit-Reset` ([`RetryPolicy`]). Each request
//! runs in a `tripletex.request` tracing span with its method, path, status,
//! request id and attempts; tokens, secrets and query strings are never
//! logged nor put in error messages.

mod auth;
mod builder;
mod client;
mod error;
mod paging;
mod resources;
mod retry;
mod transport;

pub mod emulator;
pub mod reconcile;
pub mod sync;

pub use builder::{ClientBuilder, DEFAULT_USER_AGENT, PRODUCTION_BASE_URL, TEST_BASE_URL};
pub use client::Client;
pub use error::{Error, Result};
pub use reconcile::{Reconcile, ReconcilePlan, ReconcileReport};
pub use resources::{Events, GetObject, ListSubscriptions, Objects, Subscriptions};
pub use retry::RetryPolicy;
pub use sync::{ObjectSync, SyncPage, SyncState, SyncStream};

/// `time`, re-exported for [`ClientBuilder::clock`].
pub use time;
/// The wire types this client speaks, re-exported.
pub use tripletex_webhooks_types as types;
