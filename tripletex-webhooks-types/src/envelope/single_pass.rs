//! [`TripletexEvent::from_slice`](super::TripletexEvent::from_slice) in one
//! pass: the envelope's fields are read in order, and once `event` is known
//! its `value` is decoded straight into the payload model, without first
//! scanning the value to find where it ends.
//!
//! Any body this does not decode is decoded again in two steps (the
//! envelope with a raw `value`, then the payload), which gives the exact
//! error; so this pass may refuse whatever it does not handle on the fast
//! path, such as `value` before `event`, or an envelope written as an array.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::source::{Failure, Streamed};
use super::{EventPayload, TripletexEvent};
use crate::event_type::EventType;

/// Decodes `body` in one pass; an error says only that this pass did not.
pub(super) fn decode(body: &[u8]) -> Result<TripletexEvent, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let event = deserializer.deserialize_map(EnvelopeVisitor)?;
    deserializer.end()?;
    Ok(event)
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    SubscriptionId,
    Event,
    Id,
    Value,
    #[serde(other)]
    Other,
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = TripletexEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook envelope with `event` before `value`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TripletexEvent, A::Error> {
        let mut subscription_id = None;
        let mut event: Option<EventType> = None;
        let mut id = None;
        let mut payload = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::SubscriptionId => set(&mut subscription_id, map.next_value()?)?,
                Field::Event => set(&mut event, map.next_value()?)?,
                Field::Id => set(&mut id, map.next_value()?)?,
                Field::Value => {
                    let Some(event) = &event else {
                        return Err(de::Error::custom("`value` before `event`"));
                    };
                    set(&mut payload, map.next_value_seed(PayloadSeed(event))?)?;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event = event.ok_or_else(|| de::Error::missing_field("event"))?;
        let payload = match payload {
            Some(payload) => payload,
            // No `value` at all: as if it were null.
            None => EventPayload::decode(&event, None)
                .map_err(|_| de::Error::custom("the event needs a `value`"))?,
        };
        Ok(TripletexEvent {
            subscription_id: subscription_id
                .ok_or_else(|| de::Error::missing_field("subscriptionId"))?,
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            event,
            payload,
        })
    }
}

/// Stores a field's value, refusing a repeated field.
fn set<T, E: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom("a repeated field"));
    }
    *slot = Some(value);
    Ok(())
}

/// Decodes `value` for the event already read.
struct PayloadSeed<'a>(&'a EventType);

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_> {
    type Value = EventPayload;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<EventPayload, D::Error> {
        EventPayload::decode(self.0, Streamed::new(deserializer)).map_err(|failure| match failure {
            Failure::Invalid(error) => error,
            Failure::Missing | Failure::Unexpected => {
                de::Error::custom("the value does not fit the event")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeError;

    /// Decodes in one pass, and checks the result against the two steps.
    fn one_pass(body: &str) -> TripletexEvent {
        let event = decode(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        let two_steps = TripletexEvent::from_slice_in_two_steps(body.as_bytes()).unwrap();
        assert_eq!(event, two_steps, "{body}");
        event
    }

    #[test]
    fn decodes_what_tripletex_sends_in_one_pass() {
        for body in [
            r#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":7,"version":2,"name":"Beans","vatType":{"id":3,"url":"x"},"newField":[1,{"a":null}]}}"#,
            r#"{"subscriptionId":1,"event":"order.create","id":5,"value":{"id":5,"version":0,"orderLines":[{"id":1}]}}"#,
            r#"{"subscriptionId":1,"event":"order.delete","id":5,"value":null}"#,
            r#"{"subscriptionId":1,"event":"order.delete","id":5}"#,
            r#"{"subscriptionId":1,"event":"invoice.charged","id":9,"value":{"id":9,"invoiceNumber":1001}}"#,
            r#"{"subscriptionId":1,"event":"timesheetEntry.create","id":2,"value":{"id":2,"hours":7.5}}"#,
            r#"{"subscriptionId":1,"event":"product.archive","id":2,"value":{"id":2}}"#,
            r#"{"event":"customer.update","id":4,"extra":{"ignored":true},"value":{"id":4,"version":1},"subscriptionId":8}"#,
            " {\"subscriptionId\":1,\"event\":\"contact.delete\",\"id\":3,\"value\":null}\n",
        ] {
            one_pass(body);
        }
        let event = one_pass(
            r#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":7,"version":2}}"#,
        );
        assert_eq!(event.object_version(), Some(2));
    }

    #[test]
    fn leaves_the_rest_to_the_two_steps() {
        // Valid, but not in Tripletex's order: decoded all the same.
        let body =
            br#"{"value":{"id":7,"version":1},"id":7,"event":"product.update","subscriptionId":1}"#;
        assert!(decode(body).is_err());
        assert_eq!(
            TripletexEvent::from_slice(body).unwrap().object_version(),
            Some(1)
        );
        // Invalid: the two steps name the error.
        for (body, expected) in [
            (&br#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":"seven"}}"#[..], "payload"),
            (br#"{"subscriptionId":1,"event":"product.update","id":7,"value":null}"#, "missing"),
            (br#"{"subscriptionId":1,"event":"product.delete","id":7,"value":{"id":7}}"#, "unexpected"),
            (br#"{"subscriptionId":1,"event":"product.delete","id":7,"id":8,"value":null}"#, "envelope"),
            (br#"{"subscriptionId":1,"event":"product.delete","id":7,"value":null,"value":null}"#, "envelope"),
            (br#"{"subscriptionId":1,"event":"product.delete","value":null}"#, "envelope"),
            (br#"{"subscriptionId":1,"event":"product.delete","id":7} trailing"#, "envelope"),
        ] {
            assert!(decode(body).is_err(), "{}", String::from_utf8_lossy(body));
            let error = TripletexEvent::from_slice(body).unwrap_err();
            let kind = match error {
                DecodeError::Envelope(_) => "envelope",
                DecodeError::Payload { .. } => "payload",
                DecodeError::MissingValue { .. } => "missing",
                DecodeError::UnexpectedValue { .. } => "unexpected",
            };
            assert_eq!(kind, expected, "{}", String::from_utf8_lossy(body));
        }
    }
}
