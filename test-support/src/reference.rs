//! Tripletex's official OpenAPI document, trimmed to what this project uses
//! and committed in `test-support/reference/` (`trim_openapi.py` there made
//! it from the official document; its header has the command), and the
//! webhook events of Tripletex's webhook guide (`tripletex-events.json`, made
//! by `extract_events.py` there), and the fields each model's create
//! requires (the server's `data/tripletex-required-fields.json`, made by
//! `extract_required.py` there: one copy, which the server owns).

use std::sync::OnceLock;

use serde_json::{Value, json};

const TRIMMED: &str = include_str!("../reference/tripletex-openapi.trimmed.json");
const EVENTS: &str = include_str!("../reference/tripletex-events.json");
const REQUIRED: &str =
    include_str!("../../tripletex-webhooks-server/data/tripletex-required-fields.json");

/// One webhook event as Tripletex documents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its name, `subject.verb` (`product.create`, `closeGroup.delete`).
    pub name: String,
    /// The model its payload is documented as (`Product`); `None` where
    /// Tripletex does not say (`voucherstatus.ready`).
    pub payload_model: Option<String>,
}

/// Every webhook event of Tripletex's webhook guide (its events table, plus
/// the `closeGroup.*` events added after it), in the guide's order.
pub fn events() -> &'static [Event] {
    static ALL: OnceLock<Vec<Event>> = OnceLock::new();
    ALL.get_or_init(|| {
        let data: Value = serde_json::from_str(EVENTS).expect("the committed event data is JSON");
        data["events"]
            .as_array()
            .expect("an events array")
            .iter()
            .map(|event| Event {
                name: event["event"].as_str().expect("an event name").to_owned(),
                payload_model: event["payloadModel"].as_str().map(str::to_owned),
            })
            .collect()
    })
}

/// The fields a create of `model` must carry, in Tripletex's order, from the
/// `required` arrays of Tripletex's last Swagger 2 document (its OpenAPI 3
/// document has none); panics for a model the data does not list.
pub fn required_fields(model: &str) -> Vec<&'static str> {
    static ALL: OnceLock<Value> = OnceLock::new();
    let data = ALL.get_or_init(|| {
        serde_json::from_str(REQUIRED).expect("the committed required-field data is JSON")
    });
    data["requiredFields"]
        .get(model)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("the required-field data has no model {model}"))
        .iter()
        .map(|field| field.as_str().expect("a field name"))
        .collect()
}

/// The trimmed official document: `paths`, `components.schemas` and
/// `components.securitySchemes`, without prose.
pub fn openapi() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| serde_json::from_str(TRIMMED).expect("the committed OpenAPI data is JSON"))
}

/// The official schema `name` (`#/components/schemas/{name}`); panics if the
/// document has none, so that a typo cannot pass as an empty schema.
pub fn schema(name: &str) -> &'static Value {
    openapi()["components"]["schemas"]
        .get(name)
        .unwrap_or_else(|| panic!("the official document has no schema {name}"))
}

/// Where `instance` breaks the official schema `name`: one line per error,
/// `"{error} at {instance path}"`; empty when it is valid.
///
/// OpenAPI 3.0 needs no translation here: `readOnly` and `format` are
/// annotations in JSON Schema, and the document uses no `nullable`.
pub fn schema_errors(name: &str, instance: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path))
        .collect()
}

/// Where `instance` breaks the official schema `name`: the instance paths
/// (`/value/examples/0/value`), one per error.
pub fn schema_error_paths(name: &str, instance: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(instance)
        .map(|error| error.instance_path.to_string())
        .collect()
}

/// `value` without its `null` members, at every depth: what to validate a
/// response against the official schemas with. Tripletex's document declares
/// no property nullable, yet its recorded responses carry `null` for unset
/// references and dates (`"contact": null`, `"subscriptionPeriodEnd": null`),
/// and so do the server's.
pub fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    schema(name);
    let root = json!({
        "components": {"schemas": openapi()["components"]["schemas"]},
        "$ref": format!("#/components/schemas/{name}"),
    });
    jsonschema::validator_for(&root).expect("the official schemas compile")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_data_has_the_webhook_shapes_and_no_prose() {
        let subscription = schema("Subscription");
        assert!(subscription["properties"]["hmacSharedSecret"].is_object());
        assert!(openapi()["paths"]["/event/subscription"]["post"].is_object());
        let text = serde_json::to_string(openapi()).unwrap();
        assert!(!text.contains("\"summary\""));
        assert!(!text.contains("\"nullable\""));
    }

    #[test]
    fn the_committed_events_are_the_guides_thirty_five() {
        let all = events();
        assert_eq!(all.len(), 35);
        assert_eq!(all[0].name, "invoice.charged");
        assert!(
            all.iter().any(|e| e.name == "closeGroup.delete"
                && e.payload_model.as_deref() == Some("CloseGroup"))
        );
    }

    #[test]
    fn nulls_are_left_out_at_every_depth() {
        assert_eq!(
            without_nulls(&json!({"a": null, "b": [{"c": null, "d": 1}], "e": "x"})),
            json!({"b": [{"d": 1}], "e": "x"})
        );
    }

    #[test]
    fn a_schema_rejects_what_breaks_it() {
        let errors = schema_errors("Subscription", &json!({"event": 7}));
        assert!(
            errors.iter().any(|e| e.ends_with("at /event")),
            "{errors:?}"
        );
        assert!(
            schema_errors(
                "Subscription",
                &json!({"event": "product.create", "targetUrl": "https://example.com/hook"})
            )
            .is_empty()
        );
    }
}
