//! Counters of what the receiver decided: readable in-process
//! ([`Metrics::snapshot`]), recorded through the [`metrics`]
//! facade for any exporter, and emitted as tracing events.
//!
//! # Through the `metrics` facade
//!
//! Install any recorder (`metrics-exporter-prometheus`, a StatsD or
//! OpenTelemetry bridge...) and the receiver records, with no labels unless
//! listed:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `tripletex_webhooks_accepted_total` | counter | |
//! | `tripletex_webhooks_duplicate_total` | counter | |
//! | `tripletex_webhooks_stale_total` | counter | |
//! | `tripletex_webhooks_unkeyed_total` | counter | |
//! | `tripletex_webhooks_unauthorized_total` | counter | `reason` ([`AuthFailure::as_str`](crate::AuthFailure::as_str)) |
//! | `tripletex_webhooks_malformed_total` | counter | `reason` ([`Rejection::kind`](crate::Rejection::kind)) |
//! | `tripletex_webhooks_handler_failed_total` | counter | |
//! | `tripletex_webhooks_busy_total` | counter | |
//! | `tripletex_webhooks_store_failed_total` | counter | |
//! | `tripletex_webhooks_resolver_failed_total` | counter | |
//! | `tripletex_webhooks_handler_duration_seconds` | histogram | `outcome`: `success` or `failure` |
//!
//! Every label has a small fixed set of values; ids, paths and event names
//! never become labels. The handler duration runs from the delivery's
//! admission to its [`Commit`](crate::Commit) (tokio's clock, so paused time
//! in tests). Call [`describe`] once after installing the recorder to give
//! exporters the help texts and units.
//!
//! # Through tracing
//!
//! Each decision emits one event on the target `tripletex_webhooks_receiver`
//! with a `monotonic_counter.tripletex_webhooks_<name> = 1` field (the
//! convention `tracing-opentelemetry`'s metrics layer turns into counters),
//! an `outcome` field, and the reason where there is one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The handler duration histogram's name.
pub const HANDLER_DURATION: &str = "tripletex_webhooks_handler_duration_seconds";

/// Registers the help text and unit of every metric with the installed
/// recorder (exporters show them, e.g. as Prometheus `# HELP` lines).
/// Optional; call it once after installing the recorder.
///
/// ```
/// tripletex_webhooks_receiver::metrics::describe(); // no recorder: a no-op
/// ```
pub fn describe() {
    for counter in Counter::ALL {
        ::metrics::describe_counter!(counter.metric_name(), counter.help());
    }
    ::metrics::describe_histogram!(
        HANDLER_DURATION,
        ::metrics::Unit::Seconds,
        "Time from a delivery's admission to its handler's outcome."
    );
}

/// The receiver's counters; read them with [`snapshot`](Self::snapshot).
///
/// Shared by every clone of a [`WebhookConfig`](crate::WebhookConfig) and
/// every layer built from it.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    stale: AtomicU64,
    duplicate: AtomicU64,
    unkeyed: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    handler_failed: AtomicU64,
    store_failed: AtomicU64,
    busy: AtomicU64,
    resolver_failed: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Deliveries whose handler succeeded (2xx).
    pub accepted: u64,
    /// Deliveries older than what was handled (a newer version or the
    /// object's deletion): acknowledged with 200 without the handler.
    pub stale: u64,
    /// Deliveries of a version, deletion or idempotency key already handled:
    /// acknowledged with 200 without the handler.
    pub duplicate: u64,
    /// Deliveries with neither a version nor an idempotency key, passed to the
    /// handler without deduplication.
    pub unkeyed: u64,
    /// Requests refused with 401.
    pub unauthorized: u64,
    /// Requests refused with 400, 405, 413 or 415.
    pub malformed: u64,
    /// Deliveries whose handler failed (not 2xx, an error, or dropped):
    /// nothing was recorded, so Tripletex retries.
    pub handler_failed: u64,
    /// Store failures: a lookup (answered 503) or a record after the handler
    /// succeeded (logged; the delivery may be handled again).
    pub store_failed: u64,
    /// Deliveries answered 503 (with `Retry-After`) because another replica
    /// held the object's claim for longer than the claim wait.
    pub busy: u64,
    /// Deliveries answered 503 because the
    /// [`CredentialResolver`](crate::CredentialResolver) failed.
    pub resolver_failed: u64,
}

/// One counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Accepted,
    Stale,
    Duplicate,
    Unkeyed,
    Unauthorized,
    Malformed,
    HandlerFailed,
    StoreFailed,
    Busy,
    ResolverFailed,
}

impl Counter {
    const ALL: [Self; 10] = [
        Self::Accepted,
        Self::Stale,
        Self::Duplicate,
        Self::Unkeyed,
        Self::Unauthorized,
        Self::Malformed,
        Self::HandlerFailed,
        Self::StoreFailed,
        Self::Busy,
        Self::ResolverFailed,
    ];

    /// The name through the `metrics` facade.
    pub(crate) const fn metric_name(self) -> &'static str {
        match self {
            Self::Accepted => "tripletex_webhooks_accepted_total",
            Self::Stale => "tripletex_webhooks_stale_total",
            Self::Duplicate => "tripletex_webhooks_duplicate_total",
            Self::Unkeyed => "tripletex_webhooks_unkeyed_total",
            Self::Unauthorized => "tripletex_webhooks_unauthorized_total",
            Self::Malformed => "tripletex_webhooks_malformed_total",
            Self::HandlerFailed => "tripletex_webhooks_handler_failed_total",
            Self::StoreFailed => "tripletex_webhooks_store_failed_total",
            Self::Busy => "tripletex_webhooks_busy_total",
            Self::ResolverFailed => "tripletex_webhooks_resolver_failed_total",
        }
    }

    const fn help(self) -> &'static str {
        match self {
            Self::Accepted => "Deliveries whose handler succeeded.",
            Self::Stale => {
                "Deliveries older than what was handled, acknowledged without the handler."
            }
            Self::Duplicate => "Deliveries already handled, acknowledged without the handler.",
            Self::Unkeyed => {
                "Deliveries without version or idempotency key, handled without dedup."
            }
            Self::Unauthorized => "Requests refused with 401.",
            Self::Malformed => "Requests refused with 400, 405, 413 or 415.",
            Self::HandlerFailed => "Deliveries whose handler failed; Tripletex retries.",
            Self::StoreFailed => "Dedup store failures.",
            Self::Busy => "Deliveries answered 503 while another replica held the object.",
            Self::ResolverFailed => {
                "Deliveries answered 503 because the credential resolver failed."
            }
        }
    }
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MetricsSnapshot {
            accepted: read(&self.accepted),
            stale: read(&self.stale),
            duplicate: read(&self.duplicate),
            unkeyed: read(&self.unkeyed),
            unauthorized: read(&self.unauthorized),
            malformed: read(&self.malformed),
            handler_failed: read(&self.handler_failed),
            store_failed: read(&self.store_failed),
            busy: read(&self.busy),
            resolver_failed: read(&self.resolver_failed),
        }
    }

    /// Counts one, here and through the facade.
    pub(crate) fn increment(&self, counter: Counter) {
        self.count(counter);
        ::metrics::counter!(counter.metric_name()).increment(1);
    }

    /// Counts one, here and through the facade with a `reason` label (one
    /// of a fixed set of names).
    pub(crate) fn increment_because(&self, counter: Counter, reason: &'static str) {
        self.count(counter);
        ::metrics::counter!(counter.metric_name(), "reason" => reason).increment(1);
    }

    /// Records how long a handler took, with its outcome.
    pub(crate) fn handler_duration(duration: Duration, success: bool) {
        // Literal labels: the macro keeps them in a static, where a label
        // value chosen at run time would allocate its list on every delivery.
        let histogram = if success {
            ::metrics::histogram!(HANDLER_DURATION, "outcome" => "success")
        } else {
            ::metrics::histogram!(HANDLER_DURATION, "outcome" => "failure")
        };
        histogram.record(duration.as_secs_f64());
    }

    fn count(&self, counter: Counter) {
        let cell = match counter {
            Counter::Accepted => &self.accepted,
            Counter::Stale => &self.stale,
            Counter::Duplicate => &self.duplicate,
            Counter::Unkeyed => &self.unkeyed,
            Counter::Unauthorized => &self.unauthorized,
            Counter::Malformed => &self.malformed,
            Counter::HandlerFailed => &self.handler_failed,
            Counter::StoreFailed => &self.store_failed,
            Counter::Busy => &self.busy,
            Counter::ResolverFailed => &self.resolver_failed,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }
}
