//! [`DeliveryFilter`]: which messages of the delivery log to list.

use tripletex_webhooks_types::emulator::{DeliveryRecord, DeliveryStatus};

use crate::transport::RequestSpec;

/// Which messages `GET /_emulator/deliveries` lists, and how: all
/// conditions must hold. Newest first unless [`DeliveryFilter::oldest_first`];
/// up to 1000 per page unless [`DeliveryFilter::count`] says otherwise.
///
/// ```
/// use tripletex_webhooks_client::emulator::DeliveryFilter;
/// use tripletex_webhooks_client::types::emulator::DeliveryStatus;
///
/// let filter = DeliveryFilter::new()
///     .subscription(12)
///     .event("product.create")
///     .status(DeliveryStatus::Delivered)
///     .oldest_first();
/// assert_eq!(filter.subscription_id, Some(12));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this subscription's messages.
    pub subscription_id: Option<i64>,
    /// Only messages of this event (`subject.verb`).
    pub event: Option<String>,
    /// Only messages about this object.
    pub object_id: Option<i64>,
    /// Only messages in this status.
    pub status: Option<DeliveryStatus>,
    /// Only messages created at or after this time (ms, server clock).
    pub created_from_ms: Option<i64>,
    /// Only messages created before this time (ms, server clock).
    pub created_to_ms: Option<i64>,
    /// Oldest first rather than newest first.
    pub oldest_first: bool,
    /// The index of the first message of the page.
    pub from: i64,
    /// How many messages per page (the server's default is 1000).
    pub count: Option<i64>,
}

impl DeliveryFilter {
    /// Every message, newest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this subscription's messages.
    #[must_use]
    pub fn subscription(mut self, id: i64) -> Self {
        self.subscription_id = Some(id);
        self
    }

    /// Only messages of this event.
    #[must_use]
    pub fn event(mut self, event: impl std::fmt::Display) -> Self {
        self.event = Some(event.to_string());
        self
    }

    /// Only messages about this object.
    #[must_use]
    pub fn object(mut self, id: i64) -> Self {
        self.object_id = Some(id);
        self
    }

    /// Only messages in this status.
    #[must_use]
    pub fn status(mut self, status: DeliveryStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only messages created in `[from_ms, to_ms)` (ms, server clock).
    #[must_use]
    pub fn created_between(mut self, from_ms: Option<i64>, to_ms: Option<i64>) -> Self {
        self.created_from_ms = from_ms;
        self.created_to_ms = to_ms;
        self
    }

    /// Oldest first.
    #[must_use]
    pub fn oldest_first(mut self) -> Self {
        self.oldest_first = true;
        self
    }

    /// One page: `count` messages from index `from`.
    #[must_use]
    pub fn page(mut self, from: i64, count: i64) -> Self {
        self.from = from;
        self.count = Some(count);
        self
    }

    /// Whether a change to `record` can change what this filter lists: every
    /// condition but the status (which a change moves into or out of it).
    pub fn concerns(&self, record: &DeliveryRecord) -> bool {
        self.subscription_id
            .is_none_or(|id| id == record.subscription_id)
            && self
                .event
                .as_ref()
                .is_none_or(|event| *event == record.event)
            && self.object_id.is_none_or(|id| id == record.object_id)
            && self
                .created_from_ms
                .is_none_or(|from| record.created_at_ms >= from)
            && self
                .created_to_ms
                .is_none_or(|to| record.created_at_ms < to)
    }

    /// The request's query.
    pub(crate) fn apply(&self, spec: RequestSpec) -> RequestSpec {
        spec.query_opt("subscriptionId", self.subscription_id)
            .query_opt("event", self.event.as_deref())
            .query_opt("objectId", self.object_id)
            .query_opt("status", self.status.as_ref())
            .query_opt("createdFrom", self.created_from_ms)
            .query_opt("createdTo", self.created_to_ms)
            .query_opt("sorting", self.oldest_first.then_some("id"))
            .query("from", self.from)
            .query_opt("count", self.count)
    }
}
