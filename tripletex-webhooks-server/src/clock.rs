//! The server's one clock: real time plus an offset that tests can advance.
//!
//! Every timestamp the server writes (session expiry, retry schedules, failure
//! streaks) comes from here, so `POST /_emulator/clock/advance` moves all of
//! them at once and a 30-hour retry schedule runs in seconds of wall time.
//! The offset is saved in the store, so a restart continues where it was.
//! Leases are the exception: they run on real time (`store::outbox::lease_now_ms`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

/// A shared clock: `now()` is the system time plus an adjustable offset.
///
/// Cloning shares the offset. Advancing it wakes the delivery dispatcher, so
/// retries that have become due run at once.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    offset_ms: AtomicI64,
    jumps: watch::Sender<u64>,
}

impl Clock {
    /// A clock at real time.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_offset_ms(0)
    }

    /// A clock `offset_ms` ahead of real time (where a restarted server's
    /// clock was).
    pub(crate) fn with_offset_ms(offset_ms: i64) -> Self {
        let (jumps, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                offset_ms: AtomicI64::new(offset_ms),
                jumps,
            }),
        }
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::milliseconds(self.offset_ms())
    }

    /// The current time in milliseconds since the Unix epoch (how storage keeps time).
    pub(crate) fn now_ms(&self) -> i64 {
        let now = self.now();
        i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// How far the clock is ahead of real time, in milliseconds.
    pub(crate) fn offset_ms(&self) -> i64 {
        self.inner.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward and wakes whoever waits for due work.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.inner.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.inner.jumps.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever the clock is advanced.
    pub(crate) fn changed(&self) -> watch::Receiver<u64> {
        self.inner.jumps.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advancing_moves_now_and_wakes_waiters() {
        let clock = Clock::new();
        let mut changed = clock.changed();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(30 * 3600));
        let after = clock.now();
        assert!(after - before >= time::Duration::hours(30));
        assert_eq!(clock.offset_ms(), 30 * 3600 * 1000);
        tokio::time::timeout(Duration::from_secs(1), changed.changed())
            .await
            .expect("woken")
            .expect("sender alive");
    }
}
