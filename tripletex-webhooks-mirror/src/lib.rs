//! A local mirror of Tripletex objects that converges: the webhooks guide's
//! "Syncing" recipe as a component.
//!
//! A [`Mirror`] subscribes to `create`/`update`/`delete` of each subject,
//! waits for the subscriptions to propagate, backfills each subject with the
//! client's paged sync (resumable: a restart continues after the last
//! committed page), applies webhooks through [`Mirror::webhooks`], and
//! repairs what webhooks missed with [`Mirror::resync`]. Every write follows
//! one version rule: an object is written only when its version is newer
//! than the stored one, a delete leaves a tombstone, and no interleaving of
//! webhooks and syncs makes a version go backwards. Each applied change is
//! recorded in the change feed in the same transaction and handed to the
//! app's [`MirrorBuilder::on_change`] after commit, at least once.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use tripletex_webhooks_server::{RunningServer, ServerConfig};
//! # let server = RunningServer::start(ServerConfig::for_tests()).await?;
//! # let client = tripletex_webhooks_client::Client::builder()
//! #     .base_url(server.base_url())
//! #     .session_token(server.create_session_token(0).await?)
//! #     .build()?;
//! use std::time::Duration;
//! use tripletex_webhooks_mirror::Mirror;
//! use tripletex_webhooks_types::Subject;
//! use tripletex_webhooks_types::models::Product;
//!
//! let mirror = Mirror::builder()
//!     .client(client)
//!     .subject(Subject::Product, "id,version,name")
//!     .target_url("https://app.example/tripletex/webhooks")
//!     .auth_header("X-Api-Key", "a-long-random-key")
//!     .hmac_secret("a-long-random-secret")
//!     .store_url("sqlite::memory:")
//!     .propagation(Duration::ZERO)
//!     .on_change(|change| println!("{} {} -> v{}", change.subject, change.id, change.new_version))
//!     .build()
//!     .await?;
//! mirror.start().await?;
//! let app = axum::Router::new().merge(mirror.webhooks()?); // serve it at the target URL
//! let products: Vec<Product> = mirror.all().await?;
//! # drop(app);
//! # assert!(products.is_empty());
//! # Ok(()) }
//! ```
//!
//! The tables (`mirror_objects`, `mirror_backfill`, `mirror_changes`) are
//! described in the crate's README, so an app may read them directly.

mod builder;
mod change;
mod error;
mod mirror;
mod model;
mod progress;
mod resync;
mod schedule;
mod start;
mod store;
mod webhook;

pub use builder::{
    DEFAULT_FIELDS, DEFAULT_PAGE_SIZE, DEFAULT_PROPAGATION, DEFAULT_STORE_URL, MirrorBuilder,
};
pub use change::{Change, Source};
pub use error::{MirrorError, Result};
pub use mirror::Mirror;
pub use model::Mirrored;
pub use progress::Progress;
pub use resync::{HealthReport, ResyncReport};
pub use schedule::ResyncSchedule;
pub use start::{BackfillReport, StartReport};
pub use store::{BackfillMark, Clock, Store, StoredObject};
