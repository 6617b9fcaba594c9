//! A bounded TTL cache of resolver answers (credentials or `None`), on
//! tokio's clock.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Credentials, DeliveryIdentity};

/// At most `capacity` answers, each for `ttl`. Since every entry lives as
/// long, insertion order is expiry order: the oldest goes first when full.
pub(crate) struct CredentialCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<DeliveryIdentity, (Instant, Option<Credentials>)>,
    /// Insertion order; an identity re-inserted later appears twice, and
    /// only its latest insertion (the map's instant) counts.
    order: VecDeque<(DeliveryIdentity, Instant)>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::default(),
        }
    }

    /// The cached answer, if any and not expired (the answer itself is
    /// `None` for an unknown delivery).
    #[allow(clippy::option_option, reason = "not cached, or cached as unknown")]
    pub(crate) fn get(&self, identity: &DeliveryIdentity) -> Option<Option<Credentials>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (inserted, found) = entries.map.get(identity)?;
        (inserted.elapsed() < self.ttl).then(|| found.clone())
    }

    /// Caches an answer, evicting expired entries and, when full, the oldest.
    pub(crate) fn insert(&self, identity: DeliveryIdentity, found: Option<Credentials>) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Entries { map, order } = &mut *entries;
        while let Some((oldest, inserted)) = order.front() {
            let current = map.get(oldest).is_some_and(|(at, _)| at == inserted);
            let expired = now.duration_since(*inserted) >= self.ttl;
            if current && !expired && map.len() < self.capacity {
                break;
            }
            if current {
                map.remove(oldest);
            }
            order.pop_front();
        }
        map.insert(identity.clone(), (now, found));
        order.push_back((identity, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bounded_by_ttl_and_capacity() {
        let cache = CredentialCache::new(Duration::from_secs(10), 2);
        let id = |n| DeliveryIdentity::new("/hook", Some(n));
        cache.insert(id(1), None);
        cache.insert(id(2), None);
        assert!(cache.get(&id(1)).is_some());
        cache.insert(id(3), None);
        assert!(
            cache.get(&id(1)).is_none(),
            "the oldest is evicted when full"
        );
        assert!(cache.get(&id(2)).is_some() && cache.get(&id(3)).is_some());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(cache.get(&id(3)).is_none(), "expired");
        cache.insert(id(4), None);
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.map.len(), 1, "expired entries are dropped");
    }
}
