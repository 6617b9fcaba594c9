//! The dispatcher's view of storage: claim due messages, record attempts.
//!
//! Semantics every implementation keeps:
//! - A message is claimed with a lease; a crashed worker's lease expires and
//!   the message becomes claimable again (at-least-once).
//! - Per (subscription, object) only one message is in flight at a time, and
//!   only the newest pending version is delivered: older pending versions are
//!   marked superseded, so a subscription never receives an older version of an
//!   object after a newer one.
//! - Messages of subscriptions that are no longer ACTIVE are not delivered; they
//!   are closed as failed ("subscription not active").
//! - Recording an outcome updates the message, its attempt log and the
//!   subscription's failure streak (disabling it after the configured period)
//!   in one transaction.

use async_trait::async_trait;
use secrecy::SecretString;
use tripletex_webhooks_types::EventType;
use tripletex_webhooks_types::emulator::{DeliveryRecord, Exchange};

use super::{Page, StoreResult};

/// A message claimed for delivery, with everything needed to send it.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedMessage {
    /// The outbox row.
    pub(crate) id: i64,
    /// The company.
    pub(crate) company_id: i64,
    /// The subscription.
    pub(crate) subscription_id: i64,
    /// The event.
    pub(crate) event: EventType,
    /// The object's id.
    pub(crate) object_id: i64,
    /// The object's version, when the event has one.
    pub(crate) object_version: Option<i32>,
    /// The `x-tlx-request-id` of the API call that caused the event.
    pub(crate) request_id: Option<String>,
    /// The object as of the event (unfiltered), `None` for deletes; an
    /// error where the stored payload does not read, which fails this
    /// message's attempt and no other.
    pub(crate) payload: StoreResult<Option<serde_json::Value>>,
    /// Unique per (event occurrence, subscription), identical on every retry.
    pub(crate) idempotency_key: String,
    /// Attempts made before this one.
    pub(crate) attempts: i32,
    /// The lease this claim holds; recording an outcome requires it still to
    /// be the message's lease (a fencing token against a claim that expired).
    pub(crate) lease_until_ms: i64,
    /// The subscription's target URL (with any credentials in it).
    pub(crate) target_url: String,
    /// The subscription's `fields` filter.
    pub(crate) fields: Option<String>,
    /// Custom auth header name.
    pub(crate) auth_header_name: Option<String>,
    /// Custom auth header value.
    pub(crate) auth_header_value: Option<SecretString>,
    /// HMAC secret.
    pub(crate) hmac_shared_secret: Option<SecretString>,
}

/// One claim pass: what to look at and which to take.
pub(crate) struct Claim<'a> {
    /// Now, on the server clock (ms): what is due.
    pub(crate) now_ms: i64,
    /// How long the lease lasts (ms of real time).
    pub(crate) lease_ms: i64,
    /// How many due candidates to look at.
    pub(crate) candidates: usize,
    /// Subscriptions not to look at (their targets are saturated).
    pub(crate) skip_subscriptions: &'a [i64],
    /// Decides, given a candidate's target key, whether to take it.
    pub(crate) accept: &'a mut (dyn FnMut(&str) -> bool + Send),
}

/// Now on the clock leases run on (ms since the Unix epoch): real time, never
/// the emulator clock. An advance of the server clock must not expire the
/// lease of an attempt still in flight, or the message would be sent again
/// concurrently; only schedules follow the server clock.
pub(crate) fn lease_now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// What per-target limits count by: the target URL up to its path, i.e.
/// scheme, any credentials, host and port. Internal only: never logged.
pub(crate) fn target_key(target_url: &str) -> &str {
    let start = target_url.find("://").map_or(0, |i| i + 3);
    let end = target_url[start..]
        .find(['/', '?', '#'])
        .map_or(target_url.len(), |i| start + i);
    &target_url[..end]
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub(crate) struct AttemptOutcome {
    /// The message.
    pub(crate) message_id: i64,
    /// The subscription (for its failure streak).
    pub(crate) subscription_id: i64,
    /// The lease the attempt was made under.
    pub(crate) lease_until_ms: i64,
    /// When the attempt started (server clock, ms).
    pub(crate) attempted_at_ms: i64,
    /// How long it took.
    pub(crate) duration_ms: i64,
    /// The HTTP status, if a response came.
    pub(crate) status_code: Option<u16>,
    /// What went wrong, for failures.
    pub(crate) error: Option<String>,
    /// What was sent and what came back, for the delivery log.
    pub(crate) exchange: Exchange,
    /// Whether the request's body is the message's envelope with its whole
    /// payload (no `fields` filter): the store can render it again for the
    /// delivery log rather than keep a copy.
    pub(crate) body_rendered: bool,
    /// What to do next.
    pub(crate) next: NextStep,
}

/// What happens to a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextStep {
    /// Delivered: done.
    Delivered,
    /// Failed: try again at this time (ms).
    RetryAt(i64),
    /// Failed for the last time.
    GiveUp,
    /// Not attempted (shutdown): release the lease, keep the schedule.
    Release,
}

/// The failure-streak rule applied when recording failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HealthPolicy {
    /// A subscription whose deliveries all failed for this long is disabled.
    pub(crate) disable_after_ms: i64,
}

/// Which messages the delivery log lists, and in which order.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryFilter {
    /// Only this subscription's messages.
    pub(crate) subscription_id: Option<i64>,
    /// Only messages of this event.
    pub(crate) event: Option<String>,
    /// Only messages about this object.
    pub(crate) object_id: Option<i64>,
    /// Only messages in this status.
    pub(crate) status: Option<String>,
    /// Only messages created at or after this time (ms, server clock).
    pub(crate) created_from_ms: Option<i64>,
    /// Only messages created before this time (ms, server clock).
    pub(crate) created_to_ms: Option<i64>,
    /// Oldest first rather than newest first.
    pub(crate) oldest_first: bool,
}

/// The dispatcher's storage operations.
#[async_trait]
pub(crate) trait Outbox: Send + Sync + 'static {
    /// Leases due messages for `lease_ms` of real time. Candidates are offered
    /// to `accept` (with their target key) in due order, at most `candidates`
    /// of them, skipping `skip_subscriptions`; only accepted ones are leased.
    async fn claim_due(&self, claim: Claim<'_>) -> StoreResult<Vec<ClaimedMessage>>;

    /// Records attempt outcomes, each with its message and subscription updates.
    async fn record(&self, outcomes: &[AttemptOutcome], policy: HealthPolicy) -> StoreResult<()>;

    /// Moves the due, unleased messages of these subscriptions (whose targets
    /// are saturated) to `until_ms`, so claims stop walking past them; returns
    /// how many moved.
    async fn defer(&self, subscription_ids: &[i64], now_ms: i64, until_ms: i64)
    -> StoreResult<u64>;

    /// Makes every leased message due now. For stores that one process owns
    /// (SQLite): leases found at start-up belong to a process that died, and
    /// waiting for them to expire would only delay recovery.
    async fn release_all_leases(&self, now_ms: i64) -> StoreResult<u64>;

    /// When the earliest pending message is due (ms), if any.
    async fn next_due_at(&self) -> StoreResult<Option<i64>>;

    /// A page of a company's delivery log, in the filter's order; attempts
    /// come without their exchanges.
    async fn deliveries(
        &self,
        company_id: i64,
        filter: &DeliveryFilter,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<DeliveryRecord>>;

    /// One message of a company, with every attempt and its exchange.
    async fn delivery(&self, company_id: i64, id: i64) -> StoreResult<Option<DeliveryRecord>>;

    /// Deletes the finished (delivered, failed or superseded) messages that
    /// finished before `before_ms`, with their attempts; never pending ones.
    /// Returns how many messages went.
    async fn delete_finished(&self, before_ms: i64) -> StoreResult<u64>;

    /// Notified whenever messages may have been enqueued (the dispatcher waits on it).
    fn enqueued(&self) -> std::sync::Arc<tokio::sync::Notify>;

    /// Makes a message of the company pending again, due now; whether it exists.
    async fn redeliver(&self, company_id: i64, message_id: i64, now_ms: i64) -> StoreResult<bool>;
}
