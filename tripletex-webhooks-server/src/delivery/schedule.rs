//! The retry schedule: growing delays spanning about 30 hours, with jitter.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// Tripletex "retries several times, increasing the time between attempts in a
/// span of 30 hours". Its exact schedule is not public; this one sums to 29 h 21 m.
pub(crate) const DEFAULT_DELAYS: [Duration; 8] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
    Duration::from_secs(14 * 3600),
];

/// The random spread of each delay, unless configured: ±10%.
pub(crate) const DEFAULT_JITTER: f64 = 0.1;

/// Delays between attempts, with a deterministic jitter per message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(DEFAULT_DELAYS.to_vec(), DEFAULT_JITTER)
    }
}

impl RetrySchedule {
    /// A schedule with these delays and a jitter fraction (0.1 = ±10%), clamped to 0..=1.
    pub(crate) fn new(delays: Vec<Duration>, jitter: f64) -> Self {
        Self {
            delays,
            jitter: if jitter.is_finite() {
                jitter.clamp(0.0, 1.0)
            } else {
                0.0
            },
        }
    }

    /// How many attempts a message gets in all (the first plus one per delay).
    pub(crate) fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The delay after the `attempts_made`-th failed attempt (1-based), or
    /// `None` when that was the last. The jitter is derived from `key`, so the
    /// same message always gets the same schedule and different messages spread out.
    pub(crate) fn delay_after(&self, attempts_made: usize, key: &str) -> Option<Duration> {
        let base = *self.delays.get(attempts_made.checked_sub(1)?)?;
        if self.jitter == 0.0 {
            return Some(base);
        }
        let factor = 1.0 + self.jitter * (2.0 * unit_fraction(key, attempts_made) - 1.0);
        Some(base.mul_f64(factor.max(0.0)))
    }
}

/// A number in [0, 1) from a hash of the key and attempt.
fn unit_fraction(key: &str, attempt: usize) -> f64 {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(attempt.to_le_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 bits fit an f64 exactly.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_spans_about_30_hours() {
        let total: Duration = DEFAULT_DELAYS.iter().sum();
        assert!(total > Duration::from_secs(29 * 3600) && total < Duration::from_secs(31 * 3600));
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 9);
        assert_eq!(schedule.delay_after(0, "k"), None);
        assert_eq!(schedule.delay_after(9, "k"), None);
    }

    #[test]
    fn jitter_is_bounded_and_deterministic() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(100)], 0.1);
        let a = schedule.delay_after(1, "message-a").unwrap();
        assert_eq!(schedule.delay_after(1, "message-a"), Some(a));
        assert!(
            a >= Duration::from_secs(90) && a <= Duration::from_secs(110),
            "{a:?}"
        );
        let spread: std::collections::BTreeSet<_> = (0..50)
            .filter_map(|i| schedule.delay_after(1, &format!("m{i}")))
            .collect();
        assert!(spread.len() > 40, "jitter spreads retries out");
        let exact = RetrySchedule::new(vec![Duration::from_secs(100)], 0.0);
        assert_eq!(exact.delay_after(1, "x"), Some(Duration::from_secs(100)));
    }
}
