//! An object's fields as Tripletex returns them: every property of its
//! official model, in the document's order, each the stored value, else the
//! computed one (read-only fields), else the model's default.

use serde_json::{Map, Value};

use super::data::data;
use super::derived::derived;
use super::field_type::{is_read_only, properties};

/// Keys every object has, which the caller renders itself.
pub(crate) const IDENTITY_KEYS: [&str; 4] = ["id", "version", "changes", "url"];

/// The model of the objects at API path `resource` (`order/orderline` →
/// `OrderLine`) and the defaults of its fields, if the data has them.
pub(crate) fn model_of(resource: &str) -> Option<(&'static str, &'static Map<String, Value>)> {
    let data = data();
    if let Some(row) = data.resources.get(resource) {
        return Some((row.model.as_str(), &row.defaults));
    }
    data.sub_model_defaults
        .iter()
        .find_map(|(model, defaults)| {
            (data.model_paths.get(model).map(String::as_str) == Some(resource))
                .then_some((model.as_str(), defaults))
        })
}

/// The fields of a `resource` object stored as `body`, all of its model's
/// (but the identity keys); `None` for a resource without a model.
pub(crate) fn complete(resource: &str, body: &Map<String, Value>) -> Option<Map<String, Value>> {
    let (model, defaults) = model_of(resource)?;
    let props = properties(model)?;
    let fields = props
        .iter()
        .filter(|(name, _)| !IDENTITY_KEYS.contains(&name.as_str()))
        .map(|(name, schema)| {
            let stored = body.get(name).filter(|_| !is_read_only(schema));
            let value = stored
                .cloned()
                .or_else(|| derived(model, name, body))
                .or_else(|| defaults.get(name).cloned())
                .unwrap_or(Value::Null);
            (name.clone(), value)
        })
        .collect();
    Some(fields)
}

/// A hand-made `resource` object (an event example) in the same shape:
/// every field of the model in its order, each the given value (read-only
/// ones too, so that examples show realistic amounts) or the default.
pub(crate) fn with_defaults(
    resource: &str,
    given: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let (model, defaults) = model_of(resource)?;
    let fields = properties(model)?
        .keys()
        .filter(|name| !IDENTITY_KEYS.contains(&name.as_str()))
        .map(|name| {
            let value = given
                .get(name)
                .or_else(|| defaults.get(name))
                .cloned()
                .unwrap_or(Value::Null);
            (name.clone(), value)
        })
        .collect();
    Some(fields)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_minimal_product_has_every_field_of_the_model() {
        let body = json!({"name": "Espresso", "stockOfGoods": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let fields = complete("product", &body).unwrap_or_default();
        let expected: Vec<&str> = properties("Product")
            .map(|p| {
                p.keys()
                    .map(String::as_str)
                    .filter(|k| !IDENTITY_KEYS.contains(k))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            fields.keys().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(fields["name"], "Espresso");
        assert_eq!(fields["description"], "");
        assert_eq!(fields["isInactive"], false);
        assert_eq!(fields["vatType"], Value::Null);
        assert_eq!(fields["weightUnit"], "kg");
        // Read-only: never the stored value.
        assert_eq!(fields["stockOfGoods"], 0);
        assert_eq!(fields["displayName"], "Espresso");
    }

    #[test]
    fn sub_models_and_unknown_resources() {
        assert_eq!(
            model_of("order/orderline").map(|(m, _)| m),
            Some("OrderLine")
        );
        assert_eq!(model_of("ledger/posting").map(|(m, _)| m), Some("Posting"));
        assert!(complete("nothing", &Map::new()).is_none());
    }
}
