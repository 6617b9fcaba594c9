//! Where handled versions are remembered: the [`DedupStore`] trait, a bounded
//! [`MemoryStore`] (the default) and a durable `SqliteStore` (feature
//! `sqlite`, on by default).

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

pub use memory::{DEFAULT_CAPACITY, DEFAULT_TTL, MemoryStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::dedup::{DedupKey, Mark, Seen};
use crate::error::BoxError;

/// Remembers, per [`DedupKey`], what was handled.
///
/// The receiver asks [`seen`](Self::seen) before calling the handler and
/// [`record`](Self::record)s only after the handler succeeded. Recording must
/// be monotonic ([`Seen::merge`]): a lower version never replaces a higher
/// one and a tombstone is never lifted, so concurrent recorders (several
/// replicas) cannot move an object backwards.
///
/// The trait is object-safe (`Arc<dyn DedupStore>`); implement it with
/// [`async_trait`](https://docs.rs/async-trait):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
/// use tripletex_webhooks_receiver::store::{DedupStore, StoreError};
///
/// /// Unbounded: for illustration only.
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<HashMap<DedupKey, Seen>>);
///
/// #[async_trait::async_trait]
/// impl DedupStore for MapStore {
///     async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
///         Ok(self.0.lock().map_err(StoreError::msg)?.get(key).copied())
///     }
///
///     async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
///         let mut map = self.0.lock().map_err(StoreError::msg)?;
///         let seen = map.entry(key.clone()).or_default();
///         *seen = seen.merge(mark);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait DedupStore: fmt::Debug + Send + Sync {
    /// What was handled under `key`, or `None` when nothing (or nothing still
    /// remembered) was.
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError>;

    /// Records that `mark` was handled under `key`, merging monotonically with
    /// what is there.
    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: DedupStore + ?Sized> DedupStore for Arc<S> {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        (**self).seen(key).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        (**self).record(key, mark).await
    }
}

/// A store failed (I/O, database, lock poisoning...).
#[derive(Debug, thiserror::Error)]
#[error("dedup store error: {0}")]
pub struct StoreError(#[source] BoxError);

impl StoreError {
    /// Wraps any error.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(error.into())
    }

    /// An error from anything displayable (a message, a poisoned lock...).
    pub fn msg(message: impl fmt::Display) -> Self {
        Self(message.to_string().into())
    }
}

#[cfg(feature = "sqlite")]
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::new(error)
    }
}
