//! The pause between attempts: exponential, capped.

use std::time::Duration;

/// The pause after `attempt` failures (the first failure is attempt 1):
/// `first`, doubling per attempt, never above `cap`.
pub(crate) fn pause(first: Duration, cap: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(63);
    first
        .checked_mul(1_u32.checked_shl(doublings).unwrap_or(u32::MAX))
        .unwrap_or(cap)
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_first_pause_up_to_the_cap() {
        let (first, cap) = (Duration::from_secs(1), Duration::from_secs(10));
        let pauses: Vec<u64> = (1..=6)
            .map(|attempt| pause(first, cap, attempt).as_secs())
            .collect();
        assert_eq!(pauses, [1, 2, 4, 8, 10, 10]);
        assert_eq!(
            pause(first, cap, 0),
            first,
            "no failure yet: the first pause"
        );
        assert_eq!(pause(first, cap, u32::MAX), cap, "no overflow");
    }
}
