//! [`Webhook`]: the axum extractor for a delivery the layer authenticated,
//! decoded and deduplicated; [`Delivery`]: what the receiver decided about it.

use axum::extract::FromRequestParts;
use bytes::Bytes;
use http::request::Parts;
use tripletex_webhooks_types::TripletexEvent;

use crate::core::header_text::HeaderText;
use crate::dedup::{DedupKey, Freshness, Seen};
use crate::error::MissingWebhook;

/// One authenticated, decoded delivery: the typed event, the exact raw body
/// and the [`Delivery`] facts.
///
/// [`TripletexWebhookLayer`](crate::TripletexWebhookLayer) puts it into the
/// request extensions; as an axum extractor it takes it out (so extract it
/// once per request). The typed event is [`event`](Self::event): the
/// envelope's fields are read through it (`webhook.event().id`), never
/// directly on the `Webhook`, so its own methods and the event's fields
/// cannot be confused.
///
/// ```
/// use axum::{Router, http::StatusCode, routing::post};
/// use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
/// use tripletex_webhooks_types::{EventPayload, ObjectChange};
///
/// async fn handler(webhook: Webhook) -> StatusCode {
///     println!(
///         "{} for {} (first delivery: {}, {} raw bytes)",
///         webhook.event().event,
///         webhook.event().object_key(),
///         webhook.delivery().is_first(),
///         webhook.raw_body().len(),
///     );
///     match &webhook.event().payload {
///         EventPayload::Product(ObjectChange::Updated(product)) => {
///             println!("product now named {:?}", product.name);
///         }
///         EventPayload::Unknown(raw) => println!("a newer event: {raw}"),
///         _ => {}
///     }
///     // Any non-2xx answer records nothing, so Tripletex retries.
///     StatusCode::NO_CONTENT
/// }
///
/// # fn main() -> Result<(), tripletex_webhooks_receiver::ConfigError> {
/// let config = WebhookConfig::builder().hmac_secret("shared-secret").build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/tripletex", post(handler))
///     .layer(TripletexWebhookLayer::new(config));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Webhook {
    pub(crate) event: TripletexEvent,
    pub(crate) raw_body: Bytes,
    pub(crate) delivery: Delivery,
}

impl Webhook {
    /// The typed event.
    pub fn event(&self) -> &TripletexEvent {
        &self.event
    }

    /// The typed event, by value.
    pub fn into_event(self) -> TripletexEvent {
        self.event
    }

    /// The body exactly as received (what the signature covers).
    pub fn raw_body(&self) -> &Bytes {
        &self.raw_body
    }

    /// What the receiver decided about this delivery.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The event, the raw body and the delivery facts.
    pub fn into_parts(self) -> (TripletexEvent, Bytes, Delivery) {
        (self.event, self.raw_body, self.delivery)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Webhook {
    type Rejection = MissingWebhook;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.remove::<Self>().ok_or(MissingWebhook)
    }
}

/// What the receiver knows and decided about one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub(crate) idempotency_key: Option<HeaderText>,
    pub(crate) version: Option<i64>,
    pub(crate) freshness: Freshness,
    pub(crate) key: Option<DedupKey>,
    pub(crate) previous: Option<Seen>,
}

impl Delivery {
    /// The `idempotency-key` header: unique per event occurrence and
    /// subscription, the same on every retry.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_ref().map(HeaderText::as_str)
    }

    /// The object `version` in the payload, if it carries one.
    pub fn version(&self) -> Option<i64> {
        self.version
    }

    /// How this delivery relates to what was handled before.
    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// Whether this is the first delivery of this object version (or
    /// deletion, or idempotency key) to reach a handler that succeeded.
    ///
    /// `true` for [`Freshness::New`]. A retry after a failed handler is
    /// "first" again, since nothing was recorded; an
    /// [`Unkeyed`](Freshness::Unkeyed) delivery cannot be told apart and is
    /// not.
    pub fn is_first(&self) -> bool {
        self.freshness == Freshness::New
    }

    /// The key the outcome is recorded under, if any.
    pub fn dedup_key(&self) -> Option<&DedupKey> {
        self.key.as_ref()
    }

    /// What the store knew before this delivery.
    pub fn previous(&self) -> Option<Seen> {
        self.previous
    }
}
