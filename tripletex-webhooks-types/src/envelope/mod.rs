//! The webhook envelope, `{"subscriptionId", "event", "id", "value"}`, and its
//! typed decoding.

mod single_pass;
mod source;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use self::source::{Failure, PayloadSource};

use crate::event_type::{EventType, Subject, Verb};
use crate::models::{
    Account, ArchiveRelation, CloseGroup, Contact, Customer, Employee, Invoice, Notification,
    Order, PayloadModel, Product, Project, Supplier, Voucher, VoucherStatus,
};

/// The body Tripletex POSTs to a subscription's `targetUrl`
/// (`WebHookWrapper` in the spec).
///
/// `value` is the object, filtered by the subscription's `fields`, or `null`
/// for `*.delete` events, which carry only the [`id`](Self::id).
///
/// ```
/// use tripletex_webhooks_types::{EventPayload, ObjectChange, WebhookEnvelope};
///
/// let body = br#"{"subscriptionId":3,"event":"product.update","id":7,
///                 "value":{"id":7,"version":2,"name":"Coffee"}}"#;
/// let envelope = WebhookEnvelope::from_slice(body)?;
/// assert_eq!(envelope.object_version(), Some(2));
/// match envelope.decode()?.payload {
///     EventPayload::Product(ObjectChange::Updated(product)) => {
///         assert_eq!(product.name.as_deref(), Some("Coffee"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), tripletex_webhooks_types::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEnvelope {
    /// The subscription this delivery is for.
    pub subscription_id: i64,
    /// The event, `subject.verb`.
    pub event: EventType,
    /// The id of the object the event is about.
    pub id: i64,
    /// The object, or `null` for deletes.
    #[serde(default)]
    pub value: Value,
}

/// The identity of an object: its subject and id, e.g. (`product`, 7).
///
/// Versions are per object and shared by its create, update and delete events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// What kind of object.
    pub subject: Subject,
    /// Its id.
    pub id: i64,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.subject, self.id)
    }
}

impl WebhookEnvelope {
    /// Decodes the envelope from the raw request body.
    pub fn from_slice(body: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(body).map_err(DecodeError::Envelope)
    }

    /// The object this event is about.
    pub fn object_key(&self) -> ObjectKey {
        ObjectKey {
            subject: self.event.subject().clone(),
            id: self.id,
        }
    }

    /// The object's `version`, when the payload carries one (a `fields`
    /// filter may have dropped it; deletes never carry one).
    pub fn object_version(&self) -> Option<i64> {
        self.value.get("version").and_then(Value::as_i64)
    }

    /// Decodes the payload into its typed model, checking that deletes carry no
    /// value and that other events do.
    pub fn decode(&self) -> Result<TripletexEvent, DecodeError> {
        Ok(TripletexEvent {
            subscription_id: self.subscription_id,
            event: self.event.clone(),
            id: self.id,
            payload: EventPayload::decode(&self.event, &self.value)
                .map_err(|failure| failure.into_decode_error(&self.event))?,
        })
    }
}

/// The envelope with its `value` left as raw JSON text: how
/// [`TripletexEvent::from_slice`] reads a body its single pass did not
/// decode, such as an invalid one (for the exact error).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope<'a> {
    subscription_id: i64,
    event: EventType,
    id: i64,
    /// `None` for `null` and for a missing `value`.
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
}

/// A decoded webhook: the envelope with a typed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct TripletexEvent {
    /// The subscription this delivery is for.
    pub subscription_id: i64,
    /// The event, `subject.verb`.
    pub event: EventType,
    /// The id of the object the event is about.
    pub id: i64,
    /// What happened, with the object.
    pub payload: EventPayload,
}

impl TripletexEvent {
    /// Decodes a raw request body into a typed event.
    ///
    /// The same result as [`WebhookEnvelope::from_slice`] then
    /// [`WebhookEnvelope::decode`], in about half the time: the payload is
    /// parsed once, into its model. One difference: a key repeated in a typed
    /// payload is an error here, as it is in the envelope itself, where a
    /// [`Value`] keeps the last one (parsers that disagree on such a body are
    /// how smuggled values get past a check).
    pub fn from_slice(body: &[u8]) -> Result<Self, DecodeError> {
        // One pass over the body when `event` comes before `value`, as
        // Tripletex sends it; anything it does not decode (an invalid body,
        // an envelope sent as an array) is decoded again in two steps, which
        // gives the exact error.
        single_pass::decode(body).or_else(|_| Self::from_slice_in_two_steps(body))
    }

    /// The envelope with its `value` as raw text, then the payload from it.
    fn from_slice_in_two_steps(body: &[u8]) -> Result<Self, DecodeError> {
        let envelope: RawEnvelope<'_> =
            serde_json::from_slice(body).map_err(DecodeError::Envelope)?;
        Ok(Self {
            payload: EventPayload::decode(&envelope.event, envelope.value)
                .map_err(|failure| failure.into_decode_error(&envelope.event))?,
            subscription_id: envelope.subscription_id,
            event: envelope.event,
            id: envelope.id,
        })
    }

    /// The object's `version` as the payload carries it (a `fields` filter
    /// may have dropped it; deletes never carry one): the same as
    /// [`WebhookEnvelope::object_version`].
    pub fn object_version(&self) -> Option<i64> {
        self.payload.object_version()
    }

    /// The object this event is about.
    pub fn object_key(&self) -> ObjectKey {
        ObjectKey {
            subject: self.event.subject().clone(),
            id: self.id,
        }
    }
}

/// What happened to an object that has create, update and delete events.
///
/// The object is boxed: models are about a kilobyte, and a boxed one is
/// moved as a pointer from the decoder to the handler (fields read through
/// the box as through the object itself; `*object` takes it out).
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectChange<T> {
    /// `*.create`, with the new object.
    Created(Box<T>),
    /// `*.update`, with the object as it is now.
    Updated(Box<T>),
    /// `*.delete`: only the envelope's id is known.
    Deleted,
}

impl<T> ObjectChange<T> {
    /// The object, unless it was deleted.
    pub fn object(&self) -> Option<&T> {
        match self {
            Self::Created(object) | Self::Updated(object) => Some(object),
            Self::Deleted => None,
        }
    }

    /// The object, unless it was deleted, taken out of the change.
    pub fn into_object(self) -> Option<T> {
        match self {
            Self::Created(object) | Self::Updated(object) => Some(*object),
            Self::Deleted => None,
        }
    }
}

/// The typed payload of a webhook, one variant per known subject.
///
/// Events this crate does not know (a new subject, or a new verb of a known
/// one) decode to [`EventPayload::Unknown`] with the raw value: they never fail.
///
/// Objects are boxed (see [`ObjectChange`]), so a payload is small to move.
#[derive(Debug, Clone, PartialEq)]
pub enum EventPayload {
    /// `product.create/update/delete`
    Product(ObjectChange<Product>),
    /// `order.create/update/delete`
    Order(ObjectChange<Order>),
    /// `customer.create/update/delete`
    Customer(ObjectChange<Customer>),
    /// `supplier.create/update/delete`
    Supplier(ObjectChange<Supplier>),
    /// `employee.create/update/delete`
    Employee(ObjectChange<Employee>),
    /// `contact.create/update/delete`
    Contact(ObjectChange<Contact>),
    /// `project.create/update/delete`
    Project(ObjectChange<Project>),
    /// `account.create/update/delete` (ledger accounts)
    Account(ObjectChange<Account>),
    /// `voucher.create/update/delete`
    Voucher(ObjectChange<Voucher>),
    /// `archiverelation.create/update/delete`
    ArchiveRelation(ObjectChange<ArchiveRelation>),
    /// `closeGroup.create/delete`; a delete carries no postings, so consumers
    /// must remember them from the create.
    CloseGroup(ObjectChange<CloseGroup>),
    /// `invoice.charged`: an invoice was created and charged.
    InvoiceCharged(Box<Invoice>),
    /// `notification.sent`: a notification was sent to the token's employee.
    NotificationSent(Box<Notification>),
    /// `voucherstatus.ready`: a voucher is ready in the voucher reception.
    VoucherStatusReady(Box<VoucherStatus>),
    /// An event this crate does not know, with its raw value.
    Unknown(Value),
}

impl EventPayload {
    /// The payload of `event` from `value`: typed for known events, raw for
    /// others; a delete must not carry a value, and any other typed event must.
    fn decode<P: PayloadSource>(event: &EventType, value: P) -> Result<Self, Failure<P::Error>> {
        use Subject as S;
        use Verb as V;
        let verb = event.verb();
        let change = matches!(verb, V::Create | V::Update | V::Delete);
        match event.subject() {
            S::Product if change => Self::change(verb, value, Self::Product),
            S::Order if change => Self::change(verb, value, Self::Order),
            S::Customer if change => Self::change(verb, value, Self::Customer),
            S::Supplier if change => Self::change(verb, value, Self::Supplier),
            S::Employee if change => Self::change(verb, value, Self::Employee),
            S::Contact if change => Self::change(verb, value, Self::Contact),
            S::Project if change => Self::change(verb, value, Self::Project),
            S::Account if change => Self::change(verb, value, Self::Account),
            S::Voucher if change => Self::change(verb, value, Self::Voucher),
            S::ArchiveRelation if change => Self::change(verb, value, Self::ArchiveRelation),
            S::CloseGroup if change => Self::change(verb, value, Self::CloseGroup),
            S::Invoice if *verb == V::Charged => object(value).map(Self::InvoiceCharged),
            S::Notification if *verb == V::Sent => object(value).map(Self::NotificationSent),
            S::VoucherStatus if *verb == V::Ready => object(value).map(Self::VoucherStatusReady),
            _ => Self::unknown(event, value),
        }
    }

    /// A create, update or delete payload.
    fn change<T: DeserializeOwned, P: PayloadSource>(
        verb: &Verb,
        value: P,
        variant: fn(ObjectChange<T>) -> Self,
    ) -> Result<Self, Failure<P::Error>> {
        let change = match verb {
            Verb::Create => ObjectChange::Created(object(value)?),
            Verb::Update => ObjectChange::Updated(object(value)?),
            _ => {
                if value
                    .object::<IgnoredAny>()
                    .map_err(Failure::Invalid)?
                    .is_some()
                {
                    return Err(Failure::Unexpected);
                }
                ObjectChange::Deleted
            }
        };
        Ok(variant(change))
    }

    /// Unknown events are kept raw, but a `delete` still must not carry a value.
    fn unknown<P: PayloadSource>(event: &EventType, value: P) -> Result<Self, Failure<P::Error>> {
        let value = value.value().map_err(Failure::Invalid)?;
        if event.is_delete() && !value.is_null() {
            return Err(Failure::Unexpected);
        }
        Ok(Self::Unknown(value))
    }

    /// The payload model's name (`payloadModel`), `None` for deletes and unknown events.
    pub fn payload_model(&self) -> Option<&'static str> {
        macro_rules! model {
            ($change:expr, $name:literal) => {
                match $change {
                    ObjectChange::Deleted => None,
                    _ => Some($name),
                }
            };
        }
        match self {
            Self::Product(c) => model!(c, "Product"),
            Self::Order(c) => model!(c, "Order"),
            Self::Customer(c) => model!(c, "Customer"),
            Self::Supplier(c) => model!(c, "Supplier"),
            Self::Employee(c) => model!(c, "Employee"),
            Self::Contact(c) => model!(c, "Contact"),
            Self::Project(c) => model!(c, "Project"),
            Self::Account(c) => model!(c, "Account"),
            Self::Voucher(c) => model!(c, "Voucher"),
            Self::ArchiveRelation(c) => model!(c, "ArchiveRelation"),
            Self::CloseGroup(c) => model!(c, "CloseGroup"),
            Self::InvoiceCharged(_) => Some("Invoice"),
            Self::NotificationSent(_) => Some("Notification"),
            Self::VoucherStatusReady(_) => Some("VoucherStatus"),
            Self::Unknown(_) => None,
        }
    }

    /// The object's `version`, when the payload carries one: `None` for
    /// deletes and when a `fields` filter dropped it.
    pub fn object_version(&self) -> Option<i64> {
        let version = match self {
            Self::Product(c) => c.object().and_then(PayloadModel::version),
            Self::Order(c) => c.object().and_then(PayloadModel::version),
            Self::Customer(c) => c.object().and_then(PayloadModel::version),
            Self::Supplier(c) => c.object().and_then(PayloadModel::version),
            Self::Employee(c) => c.object().and_then(PayloadModel::version),
            Self::Contact(c) => c.object().and_then(PayloadModel::version),
            Self::Project(c) => c.object().and_then(PayloadModel::version),
            Self::Account(c) => c.object().and_then(PayloadModel::version),
            Self::Voucher(c) => c.object().and_then(PayloadModel::version),
            Self::ArchiveRelation(c) => c.object().and_then(PayloadModel::version),
            Self::CloseGroup(c) => c.object().and_then(PayloadModel::version),
            Self::InvoiceCharged(o) => o.version(),
            Self::NotificationSent(o) => o.version(),
            Self::VoucherStatusReady(o) => o.version(),
            Self::Unknown(value) => return value.get("version").and_then(Value::as_i64),
        };
        version.map(i64::from)
    }
}

/// A non-delete event's object, which must be present; boxed as soon as it
/// is decoded, so it is not copied again on its way out.
fn object<T: DeserializeOwned, P: PayloadSource>(value: P) -> Result<Box<T>, Failure<P::Error>> {
    value
        .object()
        .map_err(Failure::Invalid)?
        .ok_or(Failure::Missing)
}

/// Why a webhook body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is not a webhook envelope (not JSON, or a missing or mistyped
    /// `subscriptionId`, `event` or `id`).
    #[error("invalid webhook envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    /// A `*.delete` event carried a value; deletes carry only the id.
    #[error("`{event}` must have a null value, but carried an object")]
    UnexpectedValue {
        /// The event.
        event: EventType,
    },
    /// A non-delete event carried no value.
    #[error("`{event}` must carry the object, but its value is null")]
    MissingValue {
        /// The event.
        event: EventType,
    },
    /// The value does not fit the event's payload model.
    #[error("the value of `{event}` does not fit its payload model: {source}")]
    Payload {
        /// The event.
        event: EventType,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(body: &Value) -> Result<TripletexEvent, DecodeError> {
        TripletexEvent::from_slice(&serde_json::to_vec(body).unwrap())
    }

    #[test]
    fn events_are_small_to_move_with_their_objects_boxed() {
        // Models are 200 bytes to 1.5 KB; an event moves through decoders,
        // futures and channels, so it holds them by pointer.
        let size = std::mem::size_of::<TripletexEvent>();
        assert!(size <= 256, "TripletexEvent is {size} bytes");
        let event = decode(
            &json!({"subscriptionId": 1, "event": "product.update", "id": 7,
            "value": {"id": 7, "version": 2, "name": "Coffee"}}),
        )
        .unwrap();
        let EventPayload::Product(change) = event.payload else {
            panic!("{event:?}");
        };
        let product: Product = change.into_object().unwrap();
        assert_eq!(product.name.as_deref(), Some("Coffee"));
        assert_eq!(ObjectChange::<Product>::Deleted.into_object(), None);
    }

    #[test]
    fn create_update_and_delete() {
        let created = decode(&json!({"subscriptionId": 1, "event": "order.create", "id": 5,
            "value": {"id": 5, "version": 0, "customer": {"id": 2, "url": "tripletex.no/v2/customer/2"}}}))
        .unwrap();
        let EventPayload::Order(ObjectChange::Created(order)) = &created.payload else {
            panic!("{created:?}");
        };
        assert_eq!(order.customer.as_ref().and_then(|c| c.id), Some(2));
        assert_eq!(created.payload.payload_model(), Some("Order"));

        let deleted =
            decode(&json!({"subscriptionId": 1, "event": "order.delete", "id": 5, "value": null}))
                .unwrap();
        assert_eq!(deleted.payload, EventPayload::Order(ObjectChange::Deleted));
        assert_eq!(deleted.payload.payload_model(), None);
        // A missing `value` is the same as null.
        let deleted =
            decode(&json!({"subscriptionId": 1, "event": "order.delete", "id": 5})).unwrap();
        assert_eq!(deleted.object_key().to_string(), "order/5");
    }

    #[test]
    fn special_verbs() {
        let charged = decode(
            &json!({"subscriptionId": 1, "event": "invoice.charged", "id": 9,
            "value": {"id": 9, "invoiceNumber": 1001}}),
        )
        .unwrap();
        assert!(
            matches!(charged.payload, EventPayload::InvoiceCharged(ref i) if i.invoice_number == Some(1001))
        );
        let sent = decode(&json!({"subscriptionId": 1, "event": "notification.sent", "id": 3,
            "value": {"id": 3, "title": "Hi", "message": "m", "type": "INFO", "date": "2026-01-01"}}))
        .unwrap();
        assert!(matches!(sent.payload, EventPayload::NotificationSent(_)));
        let ready = decode(
            &json!({"subscriptionId": 1, "event": "voucherstatus.ready", "id": 4,
            "value": {"id": 4, "voucher": {"id": 8}}}),
        )
        .unwrap();
        assert!(matches!(ready.payload, EventPayload::VoucherStatusReady(_)));
        let closed = decode(
            &json!({"subscriptionId": 1, "event": "closeGroup.delete", "id": 4, "value": null}),
        )
        .unwrap();
        assert_eq!(
            closed.payload,
            EventPayload::CloseGroup(ObjectChange::Deleted)
        );
    }

    #[test]
    fn unknown_events_keep_the_raw_value() {
        let value = json!({"id": 1, "hours": 7.5});
        let event = decode(&json!({"subscriptionId": 1, "event": "timesheetEntry.approve", "id": 1, "value": value}))
            .unwrap();
        assert_eq!(event.payload, EventPayload::Unknown(value.clone()));
        // A new verb of a known subject is unknown too, not an error.
        let event = decode(
            &json!({"subscriptionId": 1, "event": "product.archive", "id": 1, "value": value}),
        )
        .unwrap();
        assert_eq!(event.payload, EventPayload::Unknown(value));
    }

    #[test]
    fn delete_with_value_and_create_without_are_errors() {
        let err = decode(
            &json!({"subscriptionId": 1, "event": "product.delete", "id": 1, "value": {"id": 1}}),
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::UnexpectedValue { .. }), "{err}");
        let err = decode(
            &json!({"subscriptionId": 1, "event": "mystery.delete", "id": 1, "value": {"id": 1}}),
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::UnexpectedValue { .. }), "{err}");
        let err = decode(
            &json!({"subscriptionId": 1, "event": "product.create", "id": 1, "value": null}),
        )
        .unwrap_err();
        assert!(matches!(err, DecodeError::MissingValue { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "`product.create` must carry the object, but its value is null"
        );
        let err =
            decode(&json!({"subscriptionId": 1, "event": "invoice.charged", "id": 1})).unwrap_err();
        assert!(matches!(err, DecodeError::MissingValue { .. }), "{err}");
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b"not json"[..],
            br#"{"event":"product.create","id":1}"#,
            br#"{"subscriptionId":1,"event":"product","id":1,"value":null}"#,
            br#"{"subscriptionId":1,"event":"product.create","id":"7","value":{}}"#,
            b"[]",
        ] {
            assert!(matches!(
                TripletexEvent::from_slice(body),
                Err(DecodeError::Envelope(_))
            ));
        }
        let err = decode(&json!({"subscriptionId": 1, "event": "product.create", "id": 1, "value": {"version": "x"}}))
            .unwrap_err();
        assert!(matches!(err, DecodeError::Payload { .. }), "{err}");
        let err =
            decode(&json!({"subscriptionId": 1, "event": "product.create", "id": 1, "value": 42}))
                .unwrap_err();
        assert!(matches!(err, DecodeError::Payload { .. }), "{err}");
    }

    #[test]
    fn a_repeated_key_is_an_error() {
        let body = br#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":7,"version":1,"version":2}}"#;
        let err = TripletexEvent::from_slice(body).unwrap_err();
        assert!(matches!(err, DecodeError::Payload { .. }), "{err}");
        assert!(
            err.to_string().contains("duplicate field `version`"),
            "{err}"
        );
        let body = br#"{"subscriptionId":1,"event":"product.update","id":7,"id":8,"value":null}"#;
        let err = TripletexEvent::from_slice(body).unwrap_err();
        assert!(matches!(err, DecodeError::Envelope(_)), "{err}");
    }

    #[test]
    fn envelope_round_trips_with_explicit_null() {
        let body = json!({"subscriptionId": 3, "event": "order.delete", "id": 7, "value": null});
        let envelope: WebhookEnvelope = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&envelope).unwrap(), body);
        assert_eq!(envelope.object_version(), None);
    }
}
