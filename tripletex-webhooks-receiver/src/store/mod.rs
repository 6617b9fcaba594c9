//! Where handled versions are remembered: the [`DedupStore`] trait, a bounded
//! [`MemoryStore`] (the default), a durable `SqliteStore` (feature `sqlite`,
//! on by default, shared by the processes of one machine), and the stores
//! shared by receiver replicas: `PostgresStore` (feature `postgres`) and
//! `RedisStore` (feature `redis`).
//!
//! # Claims
//!
//! Besides remembering what was handled, a store arbitrates who handles what
//! next: before the handler runs, the receiver [`claim`](DedupStore::claim)s
//! the delivery's key with a [`Lease`]; the store answers
//! [`Claim::Claimed`] (run the handler), [`Claim::AlreadyHandled`] (a
//! duplicate or stale delivery) or [`Claim::Busy`] (someone else holds the
//! key: another route, receiver, handle or replica using the same store).
//! After the handler the receiver [`commit`](DedupStore::commit)s
//! (records and releases) or [`release`](DedupStore::release)s. A claim not
//! committed nor released expires after its lease's TTL, so a crashed replica
//! holds an object for at most that long.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use memory::{DEFAULT_CAPACITY, DEFAULT_TTL, MemoryStore};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::dedup::{DedupKey, Freshness, Mark, Seen, decide};
use crate::error::BoxError;

/// Remembers, per [`DedupKey`], what was handled, and arbitrates who handles
/// a key next.
///
/// The receiver [`claim`](Self::claim)s a key before calling the handler,
/// then [`commit`](Self::commit)s (records the mark and releases the claim)
/// when the handler succeeded, or [`release`](Self::release)s when it failed.
/// Recording must be monotonic ([`Seen::merge`]): a lower version never
/// replaces a higher one and a tombstone is never lifted, so concurrent
/// recorders (several replicas) cannot move an object backwards.
///
/// Every method is required, and the claim is the store's own: the store
/// is the one thing that every user of it shares, whether they are several
/// routes of one application (one per subscription: Tripletex sends each
/// change to every subscription at once), several receivers in a process,
/// several handles on one database, or replicas in other processes. A
/// store's claims must therefore hold across all of its users: a claim on a
/// key excludes every other [`Lease`] until it is committed, released or
/// lapses, so that each version is handled once however many receivers use
/// the store.
///
/// The trait is object-safe (`Arc<dyn DedupStore>`); implement it with
/// [`async_trait`](https://docs.rs/async-trait):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use tokio::time::Instant;
/// use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
/// use tripletex_webhooks_receiver::store::{Claim, DedupStore, Lease, StoreError};
///
/// /// Unbounded, one process: for illustration only.
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<HashMap<DedupKey, Entry>>);
///
/// #[derive(Debug, Default)]
/// struct Entry {
///     seen: Option<Seen>,
///     /// The holder's lease token and when its claim lapses.
///     claim: Option<(String, Instant)>,
/// }
///
/// #[async_trait::async_trait]
/// impl DedupStore for MapStore {
///     async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
///         let map = self.0.lock().map_err(StoreError::msg)?;
///         Ok(map.get(key).and_then(|entry| entry.seen))
///     }
///
///     async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
///         let mut map = self.0.lock().map_err(StoreError::msg)?;
///         let entry = map.entry(key.clone()).or_default();
///         entry.seen = Some(entry.seen.unwrap_or_default().merge(mark));
///         Ok(())
///     }
///
///     async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
///         // One critical section: comparing and claiming are atomic.
///         let mut map = self.0.lock().map_err(StoreError::msg)?;
///         let entry = map.entry(key.clone()).or_default();
///         let decided = Claim::decide(entry.seen, mark);
///         if !matches!(decided, Claim::Claimed { .. }) {
///             return Ok(decided);
///         }
///         let now = Instant::now();
///         if let Some((token, until)) = &entry.claim {
///             if *until > now && token != lease.token() {
///                 return Ok(Claim::Busy { retry_after: Some(*until - now) });
///             }
///         }
///         let until = now.checked_add(lease.ttl()).ok_or_else(|| StoreError::msg("TTL too long"))?;
///         entry.claim = Some((lease.token().to_owned(), until));
///         Ok(decided)
///     }
///
///     async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
///         let mut map = self.0.lock().map_err(StoreError::msg)?;
///         let entry = map.entry(key.clone()).or_default();
///         entry.seen = Some(entry.seen.unwrap_or_default().merge(mark));
///         if entry.claim.as_ref().is_some_and(|(token, _)| token == lease.token()) {
///             entry.claim = None;
///         }
///         Ok(())
///     }
///
///     async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
///         let mut map = self.0.lock().map_err(StoreError::msg)?;
///         if let Some(entry) = map.get_mut(key) {
///             if entry.claim.as_ref().is_some_and(|(token, _)| token == lease.token()) {
///                 entry.claim = None;
///             }
///         }
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), StoreError> {
/// let (store, key) = (MapStore::default(), DedupKey::Delivery("k".into()));
/// let ttl = std::time::Duration::from_secs(30);
/// let (first, second) = (Lease::new(ttl), Lease::new(ttl));
/// assert_eq!(store.claim(&key, Mark::Delivered, &first).await?, Claim::Claimed { previous: None });
/// assert!(matches!(store.claim(&key, Mark::Delivered, &second).await?, Claim::Busy { .. }));
/// store.commit(&key, Mark::Delivered, &first).await?;
/// assert!(matches!(store.claim(&key, Mark::Delivered, &second).await?, Claim::AlreadyHandled(_)));
/// # Ok(()) }
/// ```
///
/// A store that only remembers is refused: no default claim could hold for
/// every user of the store.
///
/// ```compile_fail,E0046
/// use tripletex_webhooks_receiver::dedup::{DedupKey, Mark, Seen};
/// use tripletex_webhooks_receiver::store::{DedupStore, StoreError};
///
/// #[derive(Debug)]
/// struct NoClaims;
///
/// #[async_trait::async_trait]
/// impl DedupStore for NoClaims {
///     async fn seen(&self, _: &DedupKey) -> Result<Option<Seen>, StoreError> {
///         Ok(None)
///     }
///
///     async fn record(&self, _: &DedupKey, _: Mark) -> Result<(), StoreError> {
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

    /// Atomically: compares `mark` with what was handled under `key` and, when
    /// it is new and no other live claim holds `key`, claims `key` for
    /// `lease` until [`commit`](Self::commit), [`release`](Self::release) or
    /// the lease's TTL, whichever comes first.
    ///
    /// - [`Claim::AlreadyHandled`] when [`decide`] says the mark is a
    ///   duplicate or stale, whether or not `key` is claimed;
    /// - [`Claim::Busy`] when it is new but another lease holds `key`;
    /// - [`Claim::Claimed`] otherwise.
    ///
    /// "Another lease" is any other user of the store: another route or
    /// receiver in this process, another handle on the same database, or
    /// another replica.
    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError>;

    /// The handler succeeded: records `mark` under `key` (as
    /// [`record`](Self::record)) and releases `lease`'s claim if it still
    /// holds it, atomically.
    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError>;

    /// The handler failed: releases `lease`'s claim on `key` if it still
    /// holds it (never another lease's), recording nothing, so that a retry
    /// can claim at once.
    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: DedupStore + ?Sized> DedupStore for Arc<S> {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        (**self).seen(key).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        (**self).record(key, mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        (**self).claim(key, mark, lease).await
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        (**self).commit(key, mark, lease).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        (**self).release(key, lease).await
    }
}

/// What [`DedupStore::claim`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Claim {
    /// The mark is new and the caller now holds the key: run the handler, then
    /// [`commit`](DedupStore::commit) or [`release`](DedupStore::release).
    Claimed {
        /// What was handled before, if anything.
        previous: Option<Seen>,
    },
    /// This mark, or a newer one, was already handled: a duplicate or stale
    /// delivery ([`decide`] tells which). Nothing is claimed.
    AlreadyHandled(Seen),
    /// The mark is new, but another lease (another replica's delivery of the
    /// same object) holds the key. Nothing is claimed; try again later.
    Busy {
        /// How long the other claim can still last (its remaining TTL), when
        /// the store knows.
        retry_after: Option<Duration>,
    },
}

impl Claim {
    /// The answer before other claims are considered:
    /// [`Claimed`](Self::Claimed) when [`decide`] says `mark` is new after
    /// `seen`, [`AlreadyHandled`](Self::AlreadyHandled) otherwise. A store
    /// then answers [`Busy`](Self::Busy) instead of `Claimed` when another
    /// live lease holds the key.
    ///
    /// ```
    /// use tripletex_webhooks_receiver::dedup::{Mark, Seen};
    /// use tripletex_webhooks_receiver::store::Claim;
    ///
    /// let v5 = Seen::from_mark(Mark::Version(5));
    /// assert_eq!(Claim::decide(Some(v5), Mark::Version(4)), Claim::AlreadyHandled(v5));
    /// assert_eq!(Claim::decide(Some(v5), Mark::Version(6)), Claim::Claimed { previous: Some(v5) });
    /// assert_eq!(Claim::decide(None, Mark::Tombstone), Claim::Claimed { previous: None });
    /// ```
    pub fn decide(seen: Option<Seen>, mark: Mark) -> Self {
        match (decide(seen, mark), seen) {
            (Freshness::New, previous) | (_, previous @ None) => Self::Claimed { previous },
            (_, Some(seen)) => Self::AlreadyHandled(seen),
        }
    }
}

/// One claim's identity and lifetime: a unique token (so that a holder only
/// ever commits or releases its own claim, never a later one taken after its
/// own expired) and the TTL after which the claim lapses by itself.
///
/// Leases compare by identity: a clone is the same lease.
#[derive(Clone)]
pub struct Lease {
    /// Unique within this process; with the process's random prefix, unique
    /// across replicas.
    serial: u64,
    /// The token's text, written on first use: the in-memory store never
    /// needs it.
    token: OnceLock<String>,
    ttl: Duration,
}

/// A random prefix per process: tokens are unique across replicas without a
/// random draw per delivery. Tokens only tell holders apart; they are not
/// secrets.
static PROCESS: LazyLock<u128> = LazyLock::new(|| uuid::Uuid::new_v4().as_u128());

impl Lease {
    /// A lease with a fresh unique token, lasting `ttl` from when a store
    /// grants it (rounded up to whole milliseconds, at least one).
    pub fn new(ttl: Duration) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            serial: NEXT.fetch_add(1, Ordering::Relaxed),
            token: OnceLock::new(),
            ttl,
        }
    }

    /// The same lease with another TTL.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The unique token identifying the holder.
    pub fn token(&self) -> &str {
        self.token
            .get_or_init(|| format!("{:032x}-{:x}", *PROCESS, self.serial))
    }

    /// The lease's identity within this process: what a store in this
    /// process compares instead of the token.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// How long the claim lasts unless committed or released.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The TTL in whole milliseconds, rounded up, at least 1.
    pub fn ttl_millis(&self) -> u64 {
        let millis = self.ttl.as_nanos().div_ceil(1_000_000).max(1);
        u64::try_from(millis).unwrap_or(u64::MAX)
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token in full (its serial is part of it), as stores see it.
        f.debug_struct("Lease")
            .field("token", &self.token())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Lease {
    fn eq(&self, other: &Self) -> bool {
        self.serial == other.serial && self.ttl == other.ttl
    }
}

impl Eq for Lease {}

impl Hash for Lease {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.serial.hash(state);
        self.ttl.hash(state);
    }
}

/// The key of a SQL store's row: `object:SUBJECT:ID` or `delivery:KEY`
/// (subjects have no `:`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn row_key(key: &DedupKey) -> String {
    match key {
        DedupKey::Object(object) => format!("object:{}:{}", object.subject, object.id),
        DedupKey::Delivery(idempotency_key) => format!("delivery:{idempotency_key}"),
    }
}

/// The mark's kind and version, as a SQL store's claim statement compares
/// them.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn mark_params(mark: Mark) -> (&'static str, Option<i64>) {
    match mark {
        Mark::Version(version) => ("version", Some(version)),
        Mark::Tombstone => ("tombstone", None),
        Mark::Delivered => ("delivered", None),
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

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::new(error)
    }
}

#[cfg(feature = "redis")]
impl From<::redis::RedisError> for StoreError {
    fn from(error: ::redis::RedisError) -> Self {
        Self::new(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_unique_and_a_clone_is_the_same_lease() {
        let ttl = Duration::from_secs(30);
        let (first, second) = (Lease::new(ttl), Lease::new(ttl));
        assert_ne!(first, second);
        assert_ne!(first.token(), second.token());
        let clone = first.clone();
        assert_eq!(clone, first);
        assert_eq!(clone.token(), first.token());
        assert_eq!(first.token(), first.token(), "written once, then the same");
        let (prefix, serial) = first.token().split_once('-').unwrap();
        assert_eq!(prefix.len(), 32, "the process's random prefix");
        assert_eq!(u64::from_str_radix(serial, 16).unwrap(), first.serial());
        assert_ne!(first.clone().with_ttl(ttl * 2), first);
    }
}
