//! The deduplication decision, free of any framework or store.
//!
//! An object is identified by its [`ObjectKey`] (subject + id), shared by its
//! create, update and delete events and by every subscription. What a store
//! remembers about it is a [`Seen`]: the newest version handled and whether it
//! was deleted. [`decide`] compares an incoming [`Mark`] with it.

use std::fmt;

use tripletex_webhooks_types::ObjectKey;

/// What a [`DedupStore`](crate::DedupStore) remembers something under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DedupKey {
    /// An object (subject + id): its newest handled version, or its deletion.
    Object(ObjectKey),
    /// One delivery, by its `idempotency-key` header: the fallback for events
    /// whose payload carries no `version`.
    Delivery(String),
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Object(key) => write!(f, "object {key}"),
            Self::Delivery(key) => write!(f, "delivery {key:?}"),
        }
    }
}

/// What handling a delivery records under its [`DedupKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    /// A create or update carrying this object version was handled.
    Version(i64),
    /// A delete was handled: the object is gone, later creates and updates of
    /// it are stale.
    Tombstone,
    /// The delivery with this idempotency key was handled.
    Delivered,
}

/// What a store knows about a [`DedupKey`].
///
/// Recording only ever moves it forward ([`Seen::merge`]): the version never
/// decreases and a tombstone is never lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Seen {
    /// The newest version handled, if any delivery carried one.
    pub version: Option<i64>,
    /// Whether a delete was handled.
    pub deleted: bool,
}

impl Seen {
    /// What is known after also recording `mark`.
    #[must_use]
    pub fn merge(self, mark: Mark) -> Self {
        match mark {
            Mark::Version(version) => Self {
                version: Some(self.version.map_or(version, |known| known.max(version))),
                ..self
            },
            Mark::Tombstone => Self {
                deleted: true,
                ..self
            },
            Mark::Delivered => self,
        }
    }

    /// What is known after recording `mark` on nothing.
    pub fn from_mark(mark: Mark) -> Self {
        Self::default().merge(mark)
    }
}

/// How a delivery relates to what was handled before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// Nothing newer (or equal) was handled: this is the first delivery of
    /// this object version, deletion or idempotency key.
    New,
    /// This exact version, deletion or idempotency key was already handled
    /// (a retry, or the same change through another subscription).
    Duplicate,
    /// A newer version of the object, or its deletion, was already handled:
    /// this delivery arrived out of order.
    Stale,
    /// The payload has no `version` and the request no `idempotency-key`, so
    /// there is nothing to deduplicate on; it is passed through.
    Unkeyed,
}

impl Freshness {
    /// A stable lower-case name, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Unkeyed => "unkeyed",
        }
    }

    /// Whether the delivery is acknowledged without calling the handler
    /// (unless duplicates are passed through): [`Duplicate`](Self::Duplicate)
    /// or [`Stale`](Self::Stale).
    pub fn is_redundant(self) -> bool {
        matches!(self, Self::Duplicate | Self::Stale)
    }
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares an incoming mark with what was handled under the same key.
///
/// - [`Mark::Version`] `v`: stale after a tombstone or a newer version,
///   duplicate when `v` was handled, new otherwise.
/// - [`Mark::Tombstone`]: duplicate after a tombstone, new otherwise (a delete
///   is never older than a version).
/// - [`Mark::Delivered`]: duplicate when anything was recorded, new otherwise.
///
/// ```
/// use tripletex_webhooks_receiver::dedup::{decide, Freshness, Mark, Seen};
///
/// let handled = Seen { version: Some(5), deleted: false };
/// assert_eq!(decide(Some(handled), Mark::Version(6)), Freshness::New);
/// assert_eq!(decide(Some(handled), Mark::Version(5)), Freshness::Duplicate);
/// assert_eq!(decide(Some(handled), Mark::Version(3)), Freshness::Stale);
/// assert_eq!(decide(Some(handled.merge(Mark::Tombstone)), Mark::Version(9)), Freshness::Stale);
/// assert_eq!(decide(None, Mark::Tombstone), Freshness::New);
/// ```
pub fn decide(seen: Option<Seen>, mark: Mark) -> Freshness {
    let Some(seen) = seen else {
        return Freshness::New;
    };
    match mark {
        Mark::Version(_) if seen.deleted => Freshness::Stale,
        Mark::Version(version) => match seen.version {
            Some(known) if version < known => Freshness::Stale,
            Some(known) if version == known => Freshness::Duplicate,
            _ => Freshness::New,
        },
        Mark::Tombstone if seen.deleted => Freshness::Duplicate,
        Mark::Tombstone => Freshness::New,
        Mark::Delivered => Freshness::Duplicate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_only_move_forward() {
        let seen = Seen::from_mark(Mark::Version(5));
        assert_eq!(seen.merge(Mark::Version(3)).version, Some(5));
        assert_eq!(seen.merge(Mark::Version(7)).version, Some(7));
        let gone = seen.merge(Mark::Tombstone);
        assert!(gone.deleted);
        assert!(gone.merge(Mark::Version(9)).deleted, "a tombstone stays");
        assert_eq!(seen.merge(Mark::Delivered), seen);
    }

    #[test]
    fn decisions() {
        let v5 = Some(Seen::from_mark(Mark::Version(5)));
        assert_eq!(decide(None, Mark::Version(0)), Freshness::New);
        assert_eq!(decide(v5, Mark::Version(6)), Freshness::New);
        assert_eq!(decide(v5, Mark::Version(5)), Freshness::Duplicate);
        assert_eq!(decide(v5, Mark::Version(-1)), Freshness::Stale);
        assert_eq!(decide(v5, Mark::Tombstone), Freshness::New);
        let gone = Some(Seen::from_mark(Mark::Tombstone));
        assert_eq!(decide(gone, Mark::Tombstone), Freshness::Duplicate);
        assert_eq!(decide(gone, Mark::Version(i64::MAX)), Freshness::Stale);
        assert_eq!(decide(None, Mark::Delivered), Freshness::New);
        assert_eq!(
            decide(Some(Seen::default()), Mark::Delivered),
            Freshness::Duplicate
        );
    }
}
