//! Sessions kept in memory where one process owns the database, so that an
//! API call authenticates without a read: every create and delete of a
//! session passes through that process, so the copy cannot go stale.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::Session;

/// At most this many sessions are kept; past it the cache starts over (the
/// sessions in use are read again, one read each).
const CAPACITY: usize = 4_096;

/// Sessions by token digest.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_digest: HashMap<String, Session>,
    /// Counts deletes: a read that began before one must not put back the
    /// session it deleted.
    deletes: u64,
}

/// Where a read from the database began, for [`SessionCache::put_read`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadStart(u64);

impl SessionCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached session of `digest`.
    pub(crate) fn get(&self, digest: &str) -> Option<Session> {
        self.lock().by_digest.get(digest).cloned()
    }

    /// Call before reading a session from the database.
    pub(crate) fn read_start(&self) -> ReadStart {
        ReadStart(self.lock().deletes)
    }

    /// Keeps a session just created.
    pub(crate) fn put(&self, digest: &str, session: Session) {
        self.lock().insert(digest, session);
    }

    /// Keeps a session read from the database, unless a delete ran since
    /// the read began (the row read may be the one it deleted).
    pub(crate) fn put_read(&self, digest: &str, session: Session, start: ReadStart) {
        let mut inner = self.lock();
        if inner.deletes == start.0 {
            inner.insert(digest, session);
        }
    }

    /// Forgets a session whose row was deleted.
    pub(crate) fn remove(&self, digest: &str) {
        let mut inner = self.lock();
        inner.deletes += 1;
        inner.by_digest.remove(digest);
    }
}

impl Inner {
    fn insert(&mut self, digest: &str, session: Session) {
        if self.by_digest.len() >= CAPACITY {
            self.by_digest.clear();
        }
        self.by_digest.insert(digest.to_owned(), session);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::store::Company;

    fn session(id: i64) -> Session {
        Session {
            id,
            company: Company {
                id: 1,
                employee_id: 1001,
            },
            expiration_date: date!(2030 - 01 - 01),
            expires_at_ms: 1_893_456_000_000,
        }
    }

    #[test]
    fn a_created_session_is_found_until_it_is_removed() {
        let cache = SessionCache::default();
        cache.put("a", session(1));
        assert_eq!(cache.get("a"), Some(session(1)));
        assert_eq!(cache.get("b"), None);
        cache.remove("a");
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn a_read_that_began_before_a_delete_puts_nothing_back() {
        let cache = SessionCache::default();
        let before = cache.read_start();
        cache.remove("a");
        cache.put_read("a", session(1), before);
        assert_eq!(cache.get("a"), None);
        let after = cache.read_start();
        cache.put_read("a", session(1), after);
        assert_eq!(cache.get("a"), Some(session(1)));
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let cache = SessionCache::default();
        for id in 0..=i64::try_from(CAPACITY).unwrap() {
            cache.put(&id.to_string(), session(id));
        }
        assert!(cache.lock().by_digest.len() <= CAPACITY);
        assert_eq!(cache.get(&CAPACITY.to_string()), Some(session(4_096)));
    }
}
