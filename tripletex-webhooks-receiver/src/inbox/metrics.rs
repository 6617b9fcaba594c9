//! The inbox's metrics, through the `metrics` facade.

use std::time::Duration;

/// Events stored (acknowledged).
pub const STORED: &str = "tripletex_webhooks_inbox_stored_total";
/// Events whose handler succeeded.
pub const HANDLED: &str = "tripletex_webhooks_inbox_handled_total";
/// Failed attempts scheduled again.
pub const RETRIED: &str = "tripletex_webhooks_inbox_retried_total";
/// Events dead-lettered.
pub const DEAD_LETTERED: &str = "tripletex_webhooks_inbox_dead_lettered_total";
/// Events not handed to the handler: stale or duplicate versions.
pub const SKIPPED: &str = "tripletex_webhooks_inbox_skipped_total";
/// Events pending (gauge).
pub const DEPTH: &str = "tripletex_webhooks_inbox_depth";
/// How long ago the oldest pending event was received (gauge, seconds).
pub const OLDEST_PENDING: &str = "tripletex_webhooks_inbox_oldest_pending_seconds";

/// Describes the inbox's metrics to the installed recorder.
pub fn describe() {
    for (name, help) in [
        (STORED, "Deliveries stored in the inbox and acknowledged."),
        (HANDLED, "Inbox events whose handler succeeded."),
        (
            RETRIED,
            "Inbox events whose handler failed, scheduled again.",
        ),
        (DEAD_LETTERED, "Inbox events dead-lettered."),
        (
            SKIPPED,
            "Inbox events not handled: stale or duplicate versions.",
        ),
    ] {
        ::metrics::describe_counter!(name, help);
    }
    ::metrics::describe_gauge!(DEPTH, "Inbox events pending.");
    ::metrics::describe_gauge!(
        OLDEST_PENDING,
        ::metrics::Unit::Seconds,
        "How long ago the oldest pending inbox event was received."
    );
}

pub(crate) fn stored() {
    ::metrics::counter!(STORED).increment(1);
}

pub(crate) fn count(name: &'static str) {
    ::metrics::counter!(name).increment(1);
}

#[allow(clippy::cast_precision_loss)] // a gauge: precision beyond 2^52 is moot
pub(crate) fn depth(pending: u64, oldest: Option<Duration>) {
    ::metrics::gauge!(DEPTH).set(pending as f64);
    ::metrics::gauge!(OLDEST_PENDING).set(oldest.map_or(0.0, |age| age.as_secs_f64()));
}
