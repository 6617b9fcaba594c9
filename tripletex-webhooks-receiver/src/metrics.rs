//! Counters of what the receiver decided, readable in-process and emitted as
//! tracing events.
//!
//! Each decision emits one event on the target `tripletex_webhooks_receiver`
//! with a `monotonic_counter.tripletex_webhooks_<name> = 1` field (the
//! convention `tracing-opentelemetry`'s metrics layer turns into counters),
//! an `outcome` field, and the reason where there is one.

use std::sync::atomic::{AtomicU64, Ordering};

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
        }
    }

    pub(crate) fn increment(&self, counter: Counter) {
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
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }
}
