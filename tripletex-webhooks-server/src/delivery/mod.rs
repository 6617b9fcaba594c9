//! The durable delivery engine.
//!
//! Object changes write outbox rows in the same transaction as the change
//! ([`crate::store`]). The [`Dispatcher`] claims due rows with a lease, sends
//! each callback ([`sender`]), and records the outcome: success completes the
//! row and resets the subscription's failure streak; failure schedules the
//! next attempt on the [`RetrySchedule`] or fails the row at its end, and a
//! streak longer than the configured period disables the subscription.
//!
//! Isolation: a global limit bounds attempts in flight, and a per-target limit
//! keeps a slow or dead target from taking more than its share; claims skip
//! subscriptions whose target is saturated, so nothing waits behind it.

mod attempt_error;
mod attempt_log;
mod dispatcher;
mod exchange;
pub(crate) mod retention;
pub(crate) mod schedule;
pub(crate) mod sendable;
pub(crate) mod sender;
pub(crate) mod target_policy;

use std::time::Duration;

pub(crate) use dispatcher::{DeliveryStatus, Dispatcher, DispatcherHandle};
pub(crate) use exchange::shown_target;
pub(crate) use schedule::{DEFAULT_DELAYS, DEFAULT_JITTER, RetrySchedule};
use target_policy::TargetPolicy;

/// The longest one attempt may take, unless configured.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long all of a subscription's deliveries may fail before it is
/// disabled, unless configured.
pub(crate) const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(7 * 86_400);
/// Attempts in flight at once, in all, unless configured.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Attempts in flight at once to one target, unless configured.
///
/// A lane claims up to twice this ahead, and a claim waits behind every
/// create queued for the database's single writer: a cap below the API's
/// concurrency lets a fast target's lane run dry before the next claim
/// refills it, and delivery to it falls behind ingest however fast it
/// answers. At 32, 64 concurrent creators through the API had one loopback
/// target receive half the creates while they were made (494/s of 998/s);
/// at 128, all of them (1,005/s of 1,010/s; `bench load`, BENCHMARKS.md).
/// Tripletex's own limit is not published. A dead target holds at most this
/// many of the [`DEFAULT_MAX_IN_FLIGHT`] attempts until it is deferred.
pub(crate) const DEFAULT_MAX_IN_FLIGHT_PER_TARGET: usize = 128;
/// How much of a callback's body the delivery log keeps, unless configured.
pub(crate) const DEFAULT_LOG_BODY_LIMIT: usize = 64 * 1024;
/// How long finished messages stay in the delivery log, unless configured.
pub(crate) const DEFAULT_KEEP_DELIVERED: Duration = Duration::from_secs(7 * 86_400);

/// How deliveries are made.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryConfig {
    /// Delays between attempts.
    pub(crate) schedule: RetrySchedule,
    /// The longest one attempt may take.
    pub(crate) attempt_timeout: Duration,
    /// A subscription whose deliveries all failed for this long is disabled.
    pub(crate) disable_after: Duration,
    /// Which targets may be reached, directly or through a proxy.
    pub(crate) targets: TargetPolicy,
    /// Attempts in flight at once, in all.
    pub(crate) max_in_flight: usize,
    /// Attempts in flight at once to one target (scheme, host and port).
    pub(crate) max_in_flight_per_target: usize,
    /// How often to look for due work when nothing wakes the dispatcher
    /// (other processes sharing the database, leases expiring).
    pub(crate) poll_interval: Duration,
    /// How much of a callback's body the delivery log keeps (bytes).
    pub(crate) log_body_limit: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            disable_after: DEFAULT_DISABLE_AFTER,
            targets: TargetPolicy::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_in_flight_per_target: DEFAULT_MAX_IN_FLIGHT_PER_TARGET,
            poll_interval: Duration::from_secs(1),
            log_body_limit: DEFAULT_LOG_BODY_LIMIT,
        }
    }
}

impl DeliveryConfig {
    /// How long a claim holds a message: an attempt plus a margin, after which
    /// a crashed worker's message is claimed again.
    pub(crate) fn lease(&self) -> Duration {
        self.attempt_timeout + Duration::from_secs(30)
    }
}
