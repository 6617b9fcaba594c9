//! A per-token fixed-window rate limit, reported on every response with
//! Tripletex's `X-Rate-Limit-*` headers.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Clock;
use crate::config::RateLimit;

/// The window reported when no limit is configured: nothing is refused, and
/// the headers say so with the largest limit.
const UNLIMITED: RateLimit = RateLimit {
    requests: u32::MAX,
    period: std::time::Duration::from_secs(60),
};

/// Fixed windows per key, on the server clock.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    enforced: bool,
    clock: Clock,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started_ms: i64,
    used: u32,
}

/// The outcome of one request against the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    /// Requests allowed per period (`X-Rate-Limit-Limit`).
    pub(crate) limit: u32,
    /// Requests left in this period (`X-Rate-Limit-Remaining`).
    pub(crate) remaining: u32,
    /// Seconds until the period ends (`X-Rate-Limit-Reset`).
    pub(crate) reset_seconds: u64,
    /// Whether this request is over the limit.
    pub(crate) exceeded: bool,
}

impl RateLimiter {
    /// A limiter enforcing `limit`, or only reporting when `None`.
    pub(crate) fn new(limit: Option<RateLimit>, clock: Clock) -> Self {
        Self {
            limit: limit.unwrap_or(UNLIMITED),
            enforced: limit.is_some(),
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`.
    pub(crate) fn check(&self, key: &str) -> Quota {
        let now = self.clock.now_ms();
        let period_ms = i64::try_from(self.limit.period.as_millis()).unwrap_or(i64::MAX);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 100_000 {
            windows.retain(|_, w| now - w.started_ms < period_ms);
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            started_ms: now,
            used: 0,
        });
        if now - window.started_ms >= period_ms {
            *window = Window {
                started_ms: now,
                used: 0,
            };
        }
        window.used = window.used.saturating_add(1);
        let left_ms = (window.started_ms + period_ms - now).max(0);
        Quota {
            limit: self.limit.requests,
            remaining: self.limit.requests.saturating_sub(window.used),
            reset_seconds: u64::try_from(left_ms).unwrap_or(0).div_ceil(1000),
            exceeded: self.enforced && window.used > self.limit.requests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refuses_past_the_limit_until_the_window_ends() {
        let clock = Clock::new();
        let limiter = RateLimiter::new(
            Some(RateLimit {
                requests: 2,
                period: Duration::from_secs(10),
            }),
            clock.clone(),
        );
        let first = limiter.check("a");
        assert_eq!((first.remaining, first.exceeded), (1, false));
        assert!(first.reset_seconds <= 10 && first.reset_seconds >= 9);
        assert!(!limiter.check("a").exceeded);
        assert!(limiter.check("a").exceeded);
        assert!(!limiter.check("b").exceeded, "keys are independent");
        clock.advance(Duration::from_secs(10));
        assert!(!limiter.check("a").exceeded);
    }

    #[test]
    fn unconfigured_only_reports() {
        let limiter = RateLimiter::new(None, Clock::new());
        for _ in 0..10 {
            assert!(!limiter.check("a").exceeded);
        }
        assert_eq!(limiter.check("a").limit, u32::MAX);
    }
}
