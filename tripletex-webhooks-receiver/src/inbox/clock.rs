//! The inbox's clock: wall time, advancing with tokio's clock, so that tests
//! with paused time move the stored times too.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, read as the system time when the
/// inbox was opened plus tokio's time since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    started_ms: i64,
    started: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            started_ms: millis(wall),
            started: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.started_ms
            .saturating_add(millis(self.started.elapsed()))
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The duration from `from` to `to` (ms), zero if `to` is earlier.
pub(crate) fn between(from: i64, to: i64) -> Duration {
    Duration::from_millis(u64::try_from(to.saturating_sub(from)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn advances_with_tokio_time() {
        let clock = Clock::start();
        let before = clock.now_ms();
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now_ms() - before, 90_000);
        assert_eq!(between(before, clock.now_ms()), Duration::from_secs(90));
        assert_eq!(between(10, 5), Duration::ZERO);
    }
}
