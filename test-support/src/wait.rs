//! Bounded waits: a test awaits a condition, never a fixed sleep.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

/// How long a test waits for something before it fails: generous, so that a
/// loaded two-core machine fails only what is really stuck.
pub const WITHIN: Duration = Duration::from_secs(30);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(10);

/// Polls `check` until it gives a value; fails the test after [`WITHIN`].
///
/// Time is tokio's, so under paused time (`start_paused`) the bound costs
/// no real time.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(WITHIN, what, check).await
}

/// Polls `check` until it gives a value; fails the test after `within`.
pub async fn eventually_within<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = Instant::now() + within;
    loop {
        tick.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_condition_that_never_holds_fails_at_the_bound() {
        let waited = tokio::spawn(async {
            eventually_within(Duration::from_secs(5), "nothing", || async { None::<()> }).await;
        })
        .await;
        let panic = waited.unwrap_err().into_panic();
        let message = panic.downcast_ref::<String>().unwrap();
        assert_eq!(message, "timed out after 5s waiting for nothing");
    }
}
