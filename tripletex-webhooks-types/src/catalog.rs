//! The event catalogue (`GET /event`) and one event's details (`GET /event/{eventType}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::envelope::WebhookEnvelope;
use crate::event_type::EventType;

/// The events a Tripletex installation emits, keyed by name: the `value` of
/// `GET /event` (`ResponseWrapperMapStringEventInfoDescription`).
///
/// ```
/// use tripletex_webhooks_types::{EventCatalog, ValueResponse};
///
/// let body = r#"{"value":{"product.create":{"description":"Product created","payloadModel":"Product"},
///                          "order.delete":{"description":"Order deleted"}}}"#;
/// let catalog = serde_json::from_str::<ValueResponse<EventCatalog>>(body)?.value;
/// let create = catalog.get(&"product.create".parse().unwrap()).unwrap();
/// assert_eq!(create.payload_model.as_deref(), Some("Product"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventCatalog {
    /// Each event's description.
    pub events: BTreeMap<EventType, EventDescription>,
}

impl EventCatalog {
    /// The description of one event.
    pub fn get(&self, event: &EventType) -> Option<&EventDescription> {
        self.events.get(event)
    }

    /// Whether the catalogue lists an event.
    pub fn contains(&self, event: &EventType) -> bool {
        self.events.contains_key(event)
    }

    /// The event names, in order.
    pub fn event_types(&self) -> impl Iterator<Item = &EventType> {
        self.events.keys()
    }
}

impl FromIterator<(EventType, EventDescription)> for EventCatalog {
    fn from_iter<I: IntoIterator<Item = (EventType, EventDescription)>>(iter: I) -> Self {
        Self {
            events: iter.into_iter().collect(),
        }
    }
}

/// What the catalogue says about one event (`EventInfoDescription`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDescription {
    /// A human description, e.g. "Product created".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model the payload carries, e.g. `Product`; absent for deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_model: Option<String>,
    /// Keys this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One event's details with example deliveries: the `value` of
/// `GET /event/{eventType}` (`EventInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo {
    /// The event's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model the payload carries; absent for deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_model: Option<String>,
    /// Example webhook bodies for this event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<WebhookEnvelope>,
    /// Keys this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueResponse;
    use serde_json::json;

    #[test]
    fn guide_example_round_trips() {
        let body = json!({"value": {
            "product.create": {"description": "Product created", "payloadModel": "Product"},
            "order.delete": {"description": "Order deleted"}
        }});
        let catalog: ValueResponse<EventCatalog> = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(catalog.value.events.len(), 2);
        let delete = catalog.value.get(&"order.delete".parse().unwrap()).unwrap();
        assert_eq!(delete.payload_model, None);
        assert_eq!(serde_json::to_value(&catalog).unwrap(), body);
    }

    #[test]
    fn unknown_events_are_kept() {
        let body = json!({"timesheetEntry.approve": {"description": "Approved", "since": "2.80"}});
        let catalog: EventCatalog = serde_json::from_value(body.clone()).unwrap();
        assert!(catalog.contains(&"timesheetEntry.approve".parse().unwrap()));
        assert_eq!(serde_json::to_value(&catalog).unwrap(), body);
    }

    #[test]
    fn event_info_with_examples() {
        let body = json!({
            "name": "product.create", "description": "Product created", "payloadModel": "Product",
            "examples": [{"subscriptionId": 1, "event": "product.create", "id": 7, "value": {"id": 7, "version": 0}}]
        });
        let info: EventInfo = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(info.examples[0].id, 7);
        assert_eq!(serde_json::to_value(&info).unwrap(), body);
    }
}
