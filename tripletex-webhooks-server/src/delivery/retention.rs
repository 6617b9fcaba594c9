//! Retention of the delivery log: finished messages (delivered, failed or
//! superseded) are deleted with their attempts once they finished longer ago
//! than `--keep-delivered`, on the server clock; pending ones never are.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::store::Outbox;

/// How often retention runs when the clock is not moved.
const INTERVAL: Duration = Duration::from_secs(60);

/// Deletes finished messages older than `keep`: at start, every
/// [`INTERVAL`], and whenever the server clock is moved.
pub(crate) fn spawn(outbox: Arc<dyn Outbox>, clock: Clock, keep: Duration) -> JoinHandle<()> {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let mut jumps = clock.changed();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                changed = jumps.changed() => if changed.is_err() { return },
            }
            let before_ms = clock.now_ms().saturating_sub(keep_ms);
            match outbox.delete_finished(before_ms).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "finished messages deleted"),
                // The next run tries again; nothing is lost meanwhile.
                Err(error) => tracing::warn!(%error, "deleting finished messages failed"),
            }
        }
    })
}
