//! [`MemoryStore`]: a bounded, in-process dedup store with capacity and TTL.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tripletex_webhooks_types::{ObjectKey, Subject};

use super::{Claim, DedupStore, Lease, StoreError};
use crate::dedup::{DedupKey, Mark, Seen};

/// The default capacity: one million objects (about 60 MB when full).
pub const DEFAULT_CAPACITY: usize = 1_000_000;
/// The default time to live: a week, well past Tripletex's ~30 hours of retries.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

const HAS_VERSION: u8 = 1;
const DELETED: u8 = 2;
/// Set when the entry is read or written; eviction gives such entries a
/// second chance (the CLOCK approximation of least-recently-used).
const REFERENCED: u8 = 4;

/// One remembered key: 16 bytes (24 with its 8-byte key in the table).
#[derive(Debug, Clone, Copy)]
struct Slot {
    version: i64,
    /// The whole second since the store's epoch from which the entry is
    /// expired.
    expires: u32,
    flags: u8,
}

impl Slot {
    fn new(seen: Seen, expires: u32) -> Self {
        let mut flags = REFERENCED;
        if seen.version.is_some() {
            flags |= HAS_VERSION;
        }
        if seen.deleted {
            flags |= DELETED;
        }
        Self {
            version: seen.version.unwrap_or_default(),
            expires,
            flags,
        }
    }

    fn seen(self) -> Seen {
        Seen {
            version: (self.flags & HAS_VERSION != 0).then_some(self.version),
            deleted: self.flags & DELETED != 0,
        }
    }

    /// `now` is the current second since the epoch, rounded down: the entry
    /// is expired from the instant `expires` seconds after the epoch.
    fn expired(self, now: u32) -> bool {
        now >= self.expires
    }
}

#[derive(Debug, Default)]
struct Table {
    map: HashMap<u64, Slot>,
    /// Every key of `map` exactly once, in eviction order.
    order: VecDeque<u64>,
    /// Live claims (and expired ones not yet pruned), by key: separate from
    /// the bounded table, since only deliveries in flight hold one.
    claims: HashMap<u64, Held>,
    /// Expired claims are pruned when `claims` grows to this many.
    prune_claims_at: usize,
}

/// A claim held on a key.
#[derive(Debug, Clone)]
struct Held {
    /// The holder's [`Lease::serial`]: unique in this process, as the store is.
    serial: u64,
    until: Instant,
}

/// Below this many claims, expired ones are not pruned (only replaced).
const PRUNE_CLAIMS_FROM: usize = 64;

/// A bounded in-memory [`DedupStore`]: the default store.
///
/// It holds at most `capacity` keys, each for at least `ttl` after it was
/// last recorded (see [`with_ttl`](Self::with_ttl)). When full, it evicts
/// with CLOCK (second chance), an approximation of least-recently-used: keys
/// read or written since they were last considered are kept once more.
/// Expired entries are dropped first.
///
/// Entries are compact: a key is one `u64` (for known subjects with an id
/// below 2⁵⁶ the exact subject and id, otherwise a keyed 63-bit hash) and its
/// value 16 bytes (version, expiry, flags), in a `HashMap` plus a `VecDeque`
/// of keys. One million objects take about 60 MB
/// ([`approximate_memory_bytes`](Self::approximate_memory_bytes)).
///
/// What it forgets (evicted or expired) is handled again if redelivered:
/// dedup degrades to at-least-once, never to losing an event. Use
/// `SqliteStore` (feature `sqlite`) to remember across restarts.
///
/// It implements [claims](DedupStore::claim) in memory, so one store shared
/// (through an `Arc`) by several receivers in one process also runs the
/// handler at most once per object version; replicas in other processes need
/// a shared store (`PostgresStore`, `RedisStore`).
///
/// ```
/// use std::time::Duration;
/// use tripletex_webhooks_receiver::store::MemoryStore;
///
/// let store = MemoryStore::new()
///     .with_capacity(100_000)
///     .with_ttl(Duration::from_secs(48 * 3600));
/// assert_eq!(store.capacity(), 100_000);
/// ```
pub struct MemoryStore {
    table: Mutex<Table>,
    capacity: usize,
    ttl: Duration,
    epoch: Instant,
    hasher: RandomState,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store with [`DEFAULT_CAPACITY`] and [`DEFAULT_TTL`]. Memory grows
    /// with use, not up front.
    pub fn new() -> Self {
        Self {
            table: Mutex::default(),
            capacity: DEFAULT_CAPACITY,
            ttl: DEFAULT_TTL,
            epoch: Instant::now(),
            hasher: RandomState::new(),
        }
    }

    /// The same store holding at most `capacity` keys (at least 1).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The same store forgetting a key once `ttl` has passed since it was
    /// last recorded, rounded up to a whole second of the store's clock
    /// (which counts from the store's creation): a key recorded at `r` on
    /// that clock is remembered until `r + ttl` rounded up to whole seconds,
    /// so for at least `ttl` and less than a second more. The clock is
    /// tokio's [`Instant`](tokio::time::Instant), so paused test time drives
    /// it.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most keys held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long a key is remembered, at least, after it was last recorded.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Keys held now, including expired ones not yet dropped.
    pub fn len(&self) -> usize {
        self.table().map.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything.
    pub fn clear(&self) {
        *self.table() = Table::default();
    }

    /// The heap memory the store's tables occupy now, in bytes: the hash
    /// table's buckets and control bytes plus the eviction queue.
    pub fn approximate_memory_bytes(&self) -> usize {
        let table = self.table();
        let capacity = table.map.capacity();
        // hashbrown keeps 7/8 of a power-of-two bucket count usable (all but
        // one bucket below 8), with one control byte per bucket plus a group.
        let buckets = match capacity {
            0 => 0,
            1..7 => capacity + 1,
            _ => capacity / 7 * 8,
        };
        let group_width = 16;
        let map = if buckets == 0 {
            0
        } else {
            buckets * (size_of::<(u64, Slot)>() + 1) + group_width
        };
        map + table.order.capacity() * size_of::<u64>()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // Every critical section leaves the table consistent, so a panic in
        // another thread cannot have left it half-updated.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time since the epoch: the current second (rounded down, for
    /// expiry checks) and the second from which an entry recorded now is
    /// expired (rounded up, so that it lives at least the TTL).
    fn now(&self) -> (u32, u32) {
        let elapsed = self.epoch.elapsed();
        let now = u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX);
        let expires = elapsed.checked_add(self.ttl).map_or(u32::MAX, |at| {
            let secs = at.as_secs() + u64::from(at.subsec_nanos() > 0);
            u32::try_from(secs).unwrap_or(u32::MAX)
        });
        (now, expires)
    }

    /// The compact key: exact for known subjects and ids in `0..2⁵⁶` (top bit
    /// clear), a keyed hash with the top bit set otherwise.
    fn encode(&self, key: &DedupKey) -> u64 {
        const HASHED: u64 = 1 << 63;
        match key {
            DedupKey::Object(ObjectKey { subject, id }) => {
                let tag = Subject::KNOWN.iter().position(|known| known == subject);
                let tag = tag.and_then(|tag| u64::try_from(tag + 1).ok());
                if let (Some(tag), Ok(id)) = (tag, u64::try_from(*id)) {
                    // At most 14 known subjects: the tag fits in 7 bits.
                    if id < 1 << 56 && tag < 1 << 7 {
                        return (tag << 56) | id;
                    }
                }
                self.hasher.hash_one((0_u8, subject.as_str(), id)) | HASHED
            }
            DedupKey::Delivery(idempotency_key) => {
                self.hasher.hash_one((1_u8, idempotency_key)) | HASHED
            }
        }
    }

    fn get(&self, key: &DedupKey) -> Option<Seen> {
        let key = self.encode(key);
        let (now, _) = self.now();
        self.table().get(key, now)
    }

    fn put(&self, key: &DedupKey, mark: Mark) {
        let key = self.encode(key);
        let (now, expires) = self.now();
        self.table().put(key, mark, now, expires, self.capacity);
    }
}

impl Table {
    fn get(&mut self, key: u64, now: u32) -> Option<Seen> {
        let slot = self.map.get_mut(&key)?;
        if slot.expired(now) {
            return None;
        }
        slot.flags |= REFERENCED;
        Some(slot.seen())
    }

    fn put(&mut self, key: u64, mark: Mark, now: u32, expires: u32, capacity: usize) {
        if let Some(slot) = self.map.get_mut(&key) {
            let known = if slot.expired(now) {
                Seen::default()
            } else {
                slot.seen()
            };
            *slot = Slot::new(known.merge(mark), expires);
            return;
        }
        self.drop_expired_front(now, 2);
        while self.map.len() >= capacity {
            if !self.evict_one(now) {
                break;
            }
        }
        self.map
            .insert(key, Slot::new(Seen::from_mark(mark), expires));
        self.order.push_back(key);
    }
    /// Claims `key` for `lease` unless a live claim of another lease holds it.
    fn claim(&mut self, key: u64, lease: &Lease, now: Instant) -> Result<(), Duration> {
        if let Some(held) = self.claims.get(&key) {
            if held.until > now && held.serial != lease.serial() {
                return Err(held.until - now);
            }
        }
        if self.claims.len() >= self.prune_claims_at.max(PRUNE_CLAIMS_FROM) {
            self.claims.retain(|_, held| held.until > now);
            self.prune_claims_at = self.claims.len().saturating_mul(2);
        }
        let ttl = Duration::from_millis(lease.ttl_millis());
        self.claims.insert(
            key,
            Held {
                serial: lease.serial(),
                until: now.checked_add(ttl).unwrap_or(now + DEFAULT_TTL),
            },
        );
        Ok(())
    }

    /// Releases `key` if `lease` holds it.
    fn release(&mut self, key: u64, lease: &Lease) {
        if self
            .claims
            .get(&key)
            .is_some_and(|held| held.serial == lease.serial())
        {
            self.claims.remove(&key);
        }
    }

    /// Drops up to `max` expired entries from the front of the queue.
    fn drop_expired_front(&mut self, now: u32, max: usize) {
        for _ in 0..max {
            let Some(front) = self.order.front() else {
                return;
            };
            if !self.map.get(front).is_some_and(|slot| slot.expired(now)) {
                return;
            }
            if let Some(key) = self.order.pop_front() {
                self.map.remove(&key);
            }
        }
    }

    /// Evicts one entry (CLOCK): expired or unreferenced entries go, referenced
    /// ones lose their mark and move to the back. Returns whether one went.
    fn evict_one(&mut self, now: u32) -> bool {
        // Each entry is passed over at most once (its mark is cleared), so two
        // rounds always find a victim.
        for _ in 0..=self.order.len().saturating_mul(2) {
            let Some(key) = self.order.pop_front() else {
                return false;
            };
            match self.map.get_mut(&key) {
                Some(slot) if slot.flags & REFERENCED != 0 && !slot.expired(now) => {
                    slot.flags &= !REFERENCED;
                    self.order.push_back(key);
                }
                Some(_) => {
                    self.map.remove(&key);
                    return true;
                }
                None => {}
            }
        }
        false
    }
}

#[async_trait]
impl DedupStore for MemoryStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        Ok(self.get(key))
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        self.put(key, mark);
        Ok(())
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        // One critical section: the lookup and the claim are atomic.
        let encoded = self.encode(key);
        let (now, _) = self.now();
        let mut table = self.table();
        let decided = Claim::decide(table.get(encoded, now), mark);
        if let Claim::Claimed { .. } = decided {
            if let Err(remaining) = table.claim(encoded, lease, Instant::now()) {
                return Ok(Claim::Busy {
                    retry_after: Some(remaining),
                });
            }
        }
        Ok(decided)
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        let encoded = self.encode(key);
        let (now, expires) = self.now();
        let mut table = self.table();
        table.put(encoded, mark, now, expires, self.capacity);
        table.release(encoded, lease);
        Ok(())
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        self.table().release(self.encode(key), lease);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tripletex_webhooks_types::EventType;

    use super::*;

    fn product(id: i64) -> DedupKey {
        DedupKey::Object(ObjectKey {
            subject: Subject::Product,
            id,
        })
    }

    #[test]
    fn keys_are_exact_for_known_subjects_and_distinct_otherwise() {
        let store = MemoryStore::new();
        let order = |id| {
            DedupKey::Object(ObjectKey {
                subject: Subject::Order,
                id,
            })
        };
        assert_ne!(store.encode(&product(7)), store.encode(&order(7)));
        assert_eq!(store.encode(&product(7)) >> 63, 0);
        assert_eq!(
            store.encode(&product(-1)) >> 63,
            1,
            "negative ids are hashed"
        );
        assert_eq!(store.encode(&product(1 << 56)) >> 63, 1);
        let unknown: EventType = "timesheetEntry.create".parse().unwrap();
        let unknown = DedupKey::Object(ObjectKey {
            subject: unknown.subject().clone(),
            id: 7,
        });
        assert_eq!(store.encode(&unknown) >> 63, 1);
        assert_ne!(
            store.encode(&DedupKey::Delivery("a".into())),
            store.encode(&DedupKey::Delivery("b".into()))
        );
    }

    #[test]
    fn records_merge_monotonically() {
        let store = MemoryStore::new();
        assert_eq!(store.get(&product(1)), None);
        store.put(&product(1), Mark::Version(5));
        store.put(&product(1), Mark::Version(3));
        assert_eq!(
            store.get(&product(1)),
            Some(Seen::from_mark(Mark::Version(5)))
        );
        store.put(&product(1), Mark::Tombstone);
        store.put(&product(1), Mark::Version(9));
        let seen = store.get(&product(1)).unwrap();
        assert!(seen.deleted);
        assert_eq!(seen.version, Some(9));
        store.put(&DedupKey::Delivery("k".into()), Mark::Delivered);
        assert_eq!(
            store.get(&DedupKey::Delivery("k".into())),
            Some(Seen::default())
        );
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn capacity_evicts_least_recently_used_first() {
        let store = MemoryStore::new().with_capacity(3);
        for id in 1..=3 {
            store.put(&product(id), Mark::Version(id));
        }
        // One pass clears every mark; then 1 is touched again.
        store.put(&product(4), Mark::Version(4));
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(&product(1)), None, "the oldest went first");
        store.get(&product(3));
        store.put(&product(5), Mark::Version(5));
        assert!(store.get(&product(3)).is_some(), "recently read, kept");
        assert_eq!(store.get(&product(2)), None);
        assert_eq!(store.len(), 3);
        assert_eq!(store.table().order.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl() {
        let store = MemoryStore::new().with_ttl(Duration::from_secs(60));
        store.put(&product(1), Mark::Version(1));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(store.get(&product(1)).is_some());
        store.put(&product(2), Mark::Version(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(store.get(&product(1)), None, "expired");
        assert!(store.get(&product(2)).is_some());
        // An expired entry is replaced, not merged.
        store.put(&product(1), Mark::Version(0));
        assert_eq!(store.get(&product(1)).unwrap().version, Some(0));
        tokio::time::advance(Duration::from_secs(120)).await;
        store.put(&product(3), Mark::Version(0));
        assert_eq!(store.len(), 1, "expired entries at the front were dropped");
    }

    #[test]
    fn a_million_objects_fit_in_under_100_mb() {
        let store = MemoryStore::new();
        let before = resident_bytes();
        for id in 0..1_000_000 {
            store.put(&product(id), Mark::Version(id % 17));
        }
        let estimate = store.approximate_memory_bytes();
        let rss = resident_bytes()
            .zip(before)
            .map(|(after, before)| after.saturating_sub(before));
        #[allow(clippy::cast_precision_loss)]
        let (mb, per_object) = (estimate as f64 / 1e6, estimate as f64 / 1_000_000.0);
        #[allow(clippy::cast_precision_loss)]
        let rss = rss.map_or("n/a".to_owned(), |bytes| {
            format!("{:.1} MB", bytes as f64 / 1e6)
        });
        println!(
            "MemoryStore with 1,000,000 objects: ~{mb:.1} MB estimated \
             ({per_object:.1} bytes/object); resident set grew by {rss}"
        );
        assert_eq!(store.len(), 1_000_000);
        assert!(estimate < 100_000_000, "{estimate} bytes estimated");
        assert!(store.get(&product(999_999)).is_some());
        // The measured growth, not only the store's own estimate (other tests
        // of this process can only add to it, never hide the store's).
        if cfg!(target_os = "linux") {
            let grown = resident_bytes()
                .zip(before)
                .map(|(after, before)| after.saturating_sub(before))
                .expect("/proc/self/statm is readable on Linux");
            assert!(
                grown < 100_000_000,
                "the resident set grew by {grown} bytes"
            );
        }
    }

    /// The process's resident set (Linux), to cross-check the estimate.
    fn resident_bytes() -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }
}
