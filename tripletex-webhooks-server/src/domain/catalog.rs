//! The event catalogue: every event this server emits, with Tripletex-style
//! descriptions, payload models and an example delivery.
//!
//! The events of the hosted resources come from [`RESOURCES`]; the rest
//! (`notification.sent`, `voucherstatus.ready`, `archiverelation.*`,
//! `closeGroup.*`) have no object endpoint and are emitted through the
//! emulator API.

use std::sync::LazyLock;

use serde_json::Value;
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{
    EventCatalog, EventDescription, EventInfo, EventType, Subject, Verb, WebhookEnvelope,
};

use crate::domain::resources::{RESOURCES, Resource, by_subject, examples};

/// The `subscriptionId` of example deliveries.
pub(crate) const EXAMPLE_SUBSCRIPTION_ID: i64 = 1;

/// Events without an object endpoint, with the example their payload is
/// based on (`None` for deletes).
type Emulated = (Subject, Verb, Option<fn(&str) -> Value>);

fn emulated() -> Vec<Emulated> {
    use Subject as S;
    use Verb as V;
    vec![
        (S::Notification, V::Sent, Some(examples::notification)),
        (S::VoucherStatus, V::Ready, Some(examples::voucher_status)),
        (
            S::ArchiveRelation,
            V::Create,
            Some(examples::archive_relation),
        ),
        (
            S::ArchiveRelation,
            V::Update,
            Some(examples::archive_relation),
        ),
        (S::ArchiveRelation, V::Delete, None),
        (S::CloseGroup, V::Create, Some(examples::close_group)),
        (S::CloseGroup, V::Delete, None),
    ]
}

static CATALOG: LazyLock<EventCatalog> = LazyLock::new(|| {
    let hosted = RESOURCES.iter().flat_map(Resource::all_events);
    let others = emulated()
        .into_iter()
        .map(|(subject, verb, _)| EventType::new(subject, verb));
    hosted
        .chain(others)
        .map(|event| {
            let description = EventDescription {
                description: Some(description(&event)),
                payload_model: payload_model(&event).map(str::to_owned),
                extra: serde_json::Map::new(),
            };
            (event, description)
        })
        .collect()
});

/// Every event this server emits (the `value` of `GET /event`).
pub(crate) fn catalog() -> &'static EventCatalog {
    &CATALOG
}

/// Whether this server emits `event` (what a subscription may name).
pub(crate) fn is_catalogued(event: &EventType) -> bool {
    CATALOG.contains(event)
}

/// The details of a catalogued event with one example delivery (the `value`
/// of `GET /event/{eventType}`): its `value` is the example object in the
/// default shape, or `null` for deletes. `None` when the event is not
/// catalogued. `url_base` is the scheme-less base of `url` fields.
pub(crate) fn event_info(event: &EventType, url_base: &str) -> Option<EventInfo> {
    let entry = CATALOG.get(event)?;
    let object = example_object(event.subject(), url_base);
    let id = object
        .as_ref()
        .and_then(|object| object.get("id"))
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let value = match object {
        Some(object) if !event.is_delete() => FieldsFilter::default_shape(&object),
        _ => Value::Null,
    };
    Some(EventInfo {
        name: Some(event.to_string()),
        description: entry.description.clone(),
        payload_model: entry.payload_model.clone(),
        examples: vec![WebhookEnvelope {
            subscription_id: EXAMPLE_SUBSCRIPTION_ID,
            event: event.clone(),
            id,
            value,
        }],
        extra: serde_json::Map::new(),
    })
}

/// The example object of a subject (a delete's example names its id).
fn example_object(subject: &Subject, url_base: &str) -> Option<Value> {
    let make = by_subject(subject)
        .map(|resource| resource.example)
        .or_else(|| {
            emulated()
                .into_iter()
                .filter(|(emulated, _, _)| emulated == subject)
                .find_map(|(_, _, example)| example)
        })?;
    Some(make(url_base))
}

/// What `GET /event` says about an event, in Tripletex's words where it has any.
fn description(event: &EventType) -> String {
    use Subject as S;
    use Verb as V;
    match (event.subject(), event.verb()) {
        (S::Invoice, V::Charged) => "A new invoice has been created and charged".to_owned(),
        (S::Notification, V::Sent) => {
            "A notification has been sent to the employee (owner of token)".to_owned()
        }
        (S::VoucherStatus, V::Ready) => {
            "A new voucher is ready to be processed from the voucher reception".to_owned()
        }
        (S::ArchiveRelation, verb) => {
            format!("A document archive relation has been {}", past_tense(verb))
        }
        (S::CloseGroup, V::Create) => {
            "Postings have been closed against each other in a close group".to_owned()
        }
        (S::CloseGroup, V::Delete) => {
            "A close group has been deleted and its postings reopened".to_owned()
        }
        (subject, verb) => format!(
            "{} {}",
            subject.payload_model().unwrap_or(subject.as_str()),
            past_tense(verb)
        ),
    }
}

fn past_tense(verb: &Verb) -> &str {
    match verb {
        Verb::Create => "created",
        Verb::Update => "updated",
        Verb::Delete => "deleted",
        other => other.as_str(),
    }
}

/// The payload model of an event: its subject's, except for deletes (no value).
fn payload_model(event: &EventType) -> Option<&'static str> {
    if event.is_delete() {
        None
    } else {
        event.subject().payload_model()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tripletex_webhooks_types::known_event_types;

    use super::*;

    #[test]
    fn the_catalogue_is_every_documented_event() {
        let catalogued: BTreeSet<_> = catalog().event_types().cloned().collect();
        let documented: BTreeSet<_> = known_event_types().into_iter().collect();
        assert_eq!(catalogued, documented);
        assert!(!is_catalogued(&"invoice.create".parse().unwrap()));
    }

    #[test]
    fn descriptions_and_models() {
        let product = catalog().get(&"product.create".parse().unwrap()).unwrap();
        assert_eq!(product.description.as_deref(), Some("Product created"));
        assert_eq!(product.payload_model.as_deref(), Some("Product"));
        let delete = catalog().get(&"order.delete".parse().unwrap()).unwrap();
        assert_eq!(delete.description.as_deref(), Some("Order deleted"));
        assert_eq!(delete.payload_model, None);
    }

    #[test]
    fn delete_examples_carry_only_the_id() {
        let info = event_info(&"customer.delete".parse().unwrap(), "h/v2").unwrap();
        assert_eq!(info.examples[0].value, Value::Null);
        assert_eq!(info.examples[0].id, 3001);
    }
}
