//! Per-object async locks: deliveries for one object run one at a time, so a
//! handler never runs for version 3 after version 5 was committed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tripletex_webhooks_types::ObjectKey;

type Slot = Arc<AsyncMutex<()>>;

/// One async mutex per object with a delivery in flight; entries are removed
/// when their last holder or waiter is done, so the map only holds objects
/// being handled right now.
#[derive(Clone, Default)]
pub(crate) struct KeyLocks {
    slots: Arc<Mutex<HashMap<ObjectKey, Slot>>>,
}

impl fmt::Debug for KeyLocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLocks")
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl KeyLocks {
    /// Waits until no other delivery of `key` is in flight, then holds it
    /// until the guard is dropped.
    pub(crate) async fn lock(&self, key: ObjectKey) -> KeyGuard {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(key.clone()).or_default())
        };
        let guard = slot.lock_owned().await;
        KeyGuard {
            guard: Some(guard),
            key,
            locks: self.clone(),
        }
    }

    /// How many objects have a delivery in flight (or waiting).
    pub(crate) fn in_flight(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Holds one object's lock; releases it (and forgets the object when nobody
/// waits for it) on drop.
pub(crate) struct KeyGuard {
    guard: Option<OwnedMutexGuard<()>>,
    key: ObjectKey,
    locks: KeyLocks,
}

impl fmt::Debug for KeyGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyGuard")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        // Release first: the guard holds a reference to the slot.
        drop(self.guard.take());
        let mut slots = self
            .locks
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map holds the slot: nobody holds or waits for it (waiters
        // clone it under this same lock before waiting).
        if slots
            .get(&self.key)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
        {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tripletex_webhooks_types::Subject;

    use super::*;

    fn key(id: i64) -> ObjectKey {
        ObjectKey {
            subject: Subject::Product,
            id,
        }
    }

    /// Who holds a reference to `key`'s slot: the map, the holder's guard, waiters.
    fn references(locks: &KeyLocks, key: &ObjectKey) -> usize {
        locks
            .slots
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, Arc::strong_count)
    }

    #[tokio::test]
    async fn one_holder_per_key_and_entries_are_forgotten() {
        let locks = KeyLocks::default();
        let first = locks.lock(key(1)).await;
        let other = locks.lock(key(2)).await;
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _guard = locks.lock(key(1)).await;
            })
        };
        // Bounded wait until the waiter has queued on key 1's slot.
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while references(&locks, &key(1)) < 3 && !waiter.is_finished() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the waiter never queued"
            );
            tick.tick().await;
        }
        assert!(!waiter.is_finished(), "the second holder waits");
        drop(first);
        waiter.await.unwrap();
        assert_eq!(locks.in_flight(), 1, "only key 2 is still held");
        drop(other);
        assert_eq!(locks.in_flight(), 0);
    }
}
