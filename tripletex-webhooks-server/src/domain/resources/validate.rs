//! Turning a request body into what is stored: the official model, required
//! fields and reference shapes, then normalisation.
//!
//! The order of the checks decides the error, as in Tripletex, which maps a
//! body onto its model before validating it: a body that does not map (an
//! unknown field, a wrong JSON type, an enum value outside the model) is 422,
//! code 16000; then missing required fields and malformed references are
//! reported together (422, code 18000). Every message names its field path.
//! What passes has its read-only fields and identity keys (`id`, `version`,
//! `url`, `changes`) removed, since the server owns them, and every reference
//! reduced to an `{id, url}` stub. New items of a nested list field (an
//! order's `orderLines`, a voucher's `postings`: objects without `id`) are
//! mapped onto their own model and kept whole, for the caller to create with
//! the object; a voucher's new postings must balance.

use serde_json::{Map, Value};
use tripletex_webhooks_types::ApiValidationMessage;

use super::Resource;
use crate::domain::model::check::{check_body, check_item};
use crate::domain::model::complete::IDENTITY_KEYS;
use crate::domain::model::{FieldType, path_of, property};
use crate::domain::object::object_url;

/// Why a body cannot be stored; the HTTP layer answers each with its own
/// Tripletex error code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidBody {
    /// Fields that are missing or malformed, one message per field (18000).
    #[error("{} field(s) missing or malformed", .0.len())]
    Fields(Vec<ApiValidationMessage>),
    /// Fields that do not map onto the model, one message per field (16000).
    #[error("{} field(s) do not map onto the model", .0.len())]
    Mapping(Vec<ApiValidationMessage>),
}

/// A checked update: the caller's `version` (for the optimistic lock) and the
/// keys to merge into the stored object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Update {
    /// The `version` the caller last saw, if it sent one.
    pub(crate) expected_version: Option<i32>,
    /// The top-level keys to replace.
    pub(crate) patch: Map<String, Value>,
}

/// Checks a `POST` body: every required field present and non-null.
pub(crate) fn check_create(
    resource: &Resource,
    body: Map<String, Value>,
    url_base: &str,
) -> Result<Map<String, Value>, InvalidBody> {
    let body = check(resource, body, false)?;
    Ok(normalise(resource, body, url_base))
}

/// Checks a `PUT` body: a partial object, whose required fields may be
/// absent but not `null`.
pub(crate) fn check_update(
    resource: &Resource,
    body: Map<String, Value>,
    url_base: &str,
) -> Result<Update, InvalidBody> {
    let body = check(resource, body, true)?;
    // The model has already checked that `version` is an `int32`.
    let expected_version = body
        .get("version")
        .and_then(Value::as_i64)
        .and_then(|version| i32::try_from(version).ok());
    Ok(Update {
        expected_version,
        patch: normalise(resource, body, url_base),
    })
}

/// The mapping onto the model, then the validation of what mapped.
fn check(
    resource: &Resource,
    body: Map<String, Value>,
    partial: bool,
) -> Result<Map<String, Value>, InvalidBody> {
    let mut body = check_body(resource.model, body).map_err(InvalidBody::Mapping)?;
    let mapping = check_new_items(resource, &mut body);
    if !mapping.is_empty() {
        return Err(InvalidBody::Mapping(mapping));
    }
    let mut messages = missing_required(resource, &body, partial);
    messages.extend(malformed_references(resource, &body));
    messages.extend(unbalanced(resource, &body));
    if messages.is_empty() {
        Ok(body)
    } else {
        Err(InvalidBody::Fields(messages))
    }
}

/// Whether an item of a list field is a new sub-object, created with its
/// parent: an object without `id` in a field whose new items are.
pub(crate) fn is_new_item(resource: &Resource, field: &str, item: &Value) -> bool {
    resource.nested(field).is_some()
        && item
            .as_object()
            .is_some_and(|object| object.get("id").is_none_or(Value::is_null))
}

/// Maps the new items of nested list fields onto their model (dropping
/// their read-only fields and the field that points back to the parent,
/// which the server sets).
fn check_new_items(
    resource: &Resource,
    body: &mut Map<String, Value>,
) -> Vec<ApiValidationMessage> {
    let mut messages = Vec::new();
    for (field, value) in body.iter_mut() {
        let (Some(back), Some(model)) = (
            resource.nested(field),
            reference_type(resource, field).and_then(|kind| kind.referenced_model()),
        ) else {
            continue;
        };
        let Value::Array(items) = value else {
            continue;
        };
        for (index, item) in items.iter_mut().enumerate() {
            if let Value::Object(object) = item {
                if object.get("id").is_none_or(Value::is_null) {
                    object.remove("id");
                    object.remove(back);
                    messages.extend(check_item(model, object, field, index));
                }
            }
        }
    }
    messages
}

/// A voucher's new postings must balance: Tripletex refuses a voucher whose
/// gross amounts ("only the gross amounts will be used") do not sum to 0.
fn unbalanced(resource: &Resource, body: &Map<String, Value>) -> Option<ApiValidationMessage> {
    let field = "postings";
    if resource.model != "Voucher" {
        return None;
    }
    let items = body.get(field)?.as_array()?;
    let new: Vec<&Value> = items
        .iter()
        .filter(|item| is_new_item(resource, field, item))
        .collect();
    if new.is_empty() {
        return None;
    }
    let sum: f64 = new
        .iter()
        .filter_map(|posting| posting.get("amountGross")?.as_f64())
        .sum();
    // Amounts are in øre precision: anything below half an øre is rounding.
    (sum.abs() >= 0.005).then(|| ApiValidationMessage {
        path: Some(field.to_owned()),
        ..ApiValidationMessage::new(
            field,
            format!("The postings are not balanced: their gross amounts sum to {sum}, not 0."),
        )
    })
}

/// Required fields that are `null`, or (unless `partial`) absent.
fn missing_required(
    resource: &Resource,
    body: &Map<String, Value>,
    partial: bool,
) -> Vec<ApiValidationMessage> {
    resource
        .required()
        .iter()
        .filter(|field| match body.get(field.as_str()) {
            None => !partial,
            Some(value) => value.is_null(),
        })
        .map(|field| ApiValidationMessage {
            path: Some(field.clone()),
            ..ApiValidationMessage::new(field.as_str(), "The field is required and cannot be null.")
        })
        .collect()
}

/// The type of a top-level field, for the ones that reference objects.
fn reference_type(resource: &Resource, field: &str) -> Option<FieldType> {
    let (_, kind) = property(resource.model, field)?;
    kind.referenced_model().map(|_| kind)
}

/// Reference fields that are neither `null` nor objects with a positive
/// integer `id` (for lists: items that are not).
fn malformed_references(
    resource: &Resource,
    body: &Map<String, Value>,
) -> Vec<ApiValidationMessage> {
    body.iter()
        .filter(|(_, value)| !value.is_null())
        .filter_map(|(field, value)| Some((field, value, reference_type(resource, field)?)))
        .flat_map(|(field, value, kind)| match (kind, value) {
            (FieldType::List(_), Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, item)| !is_new_item(resource, field, item))
                .filter(|(_, item)| reference_id(item).is_none())
                .map(|(index, _)| not_a_reference(field, &format!("{field}[{index}]")))
                .collect(),
            _ if reference_id(value).is_none() => vec![not_a_reference(field, field)],
            _ => Vec::new(),
        })
        .collect()
}

fn not_a_reference(field: &str, path: &str) -> ApiValidationMessage {
    ApiValidationMessage {
        path: Some(path.to_owned()),
        ..ApiValidationMessage::new(
            field,
            "The field must be a reference: an object with an integer `id`.",
        )
    }
}

/// The `id` of a reference object, if it is a positive integer.
fn reference_id(value: &Value) -> Option<i64> {
    value.get("id")?.as_i64().filter(|id| *id > 0)
}

/// Drops the identity keys and reduces references to `{id, url}` stubs.
fn normalise(
    resource: &Resource,
    mut body: Map<String, Value>,
    url_base: &str,
) -> Map<String, Value> {
    for key in IDENTITY_KEYS {
        body.remove(key);
    }
    for (field, value) in &mut body {
        let Some(kind) = reference_type(resource, field) else {
            continue;
        };
        let target = kind
            .referenced_model()
            .and_then(path_of)
            .unwrap_or_default();
        match value {
            Value::Array(items) => {
                for item in items
                    .iter_mut()
                    .filter(|item| !is_new_item(resource, field, item))
                {
                    *item = stub(item, url_base, target);
                }
            }
            single => *single = stub(single, url_base, target),
        }
    }
    body
}

/// The stub of a (checked) reference; `null` stays `null`.
fn stub(value: &Value, url_base: &str, target: &str) -> Value {
    match reference_id(value) {
        Some(id) => serde_json::json!({"id": id, "url": object_url(url_base, target, id)}),
        None => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::resources::by_path;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn fields(error: &InvalidBody) -> Vec<String> {
        match error {
            InvalidBody::Fields(messages) => {
                messages.iter().filter_map(|m| m.field.clone()).collect()
            }
            other @ InvalidBody::Mapping(_) => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn create_normalises_references_and_drops_identity() {
        let order = by_path("order").unwrap();
        let stored = check_create(
            order,
            body(json!({
                "id": 99, "version": 7, "url": "x", "changes": [],
                "customer": {"id": 3, "name": "Acme"},
                "orderDate": "2026-01-01", "deliveryDate": "2026-01-02",
                "contact": null,
                "orderLines": [{"id": 5}, {"id": 6, "url": "elsewhere"}],
            })),
            "h/v2",
        )
        .unwrap();
        assert_eq!(
            Value::Object(stored),
            json!({
                "customer": {"id": 3, "url": "h/v2/customer/3"},
                "orderDate": "2026-01-01", "deliveryDate": "2026-01-02",
                "contact": null,
                "orderLines": [
                    {"id": 5, "url": "h/v2/order/orderline/5"},
                    {"id": 6, "url": "h/v2/order/orderline/6"},
                ],
            })
        );
    }

    #[test]
    fn required_and_reference_errors_are_reported_together() {
        let order = by_path("order").unwrap();
        let error = check_create(
            order,
            body(
                json!({"orderDate": null, "project": {"name": "x"}, "orderLines": [{"id": 1}, {"id": 0}]}),
            ),
            "h",
        )
        .unwrap_err();
        assert_eq!(
            fields(&error),
            [
                "customer",
                "orderDate",
                "deliveryDate",
                "project",
                "orderLines"
            ]
        );
    }

    #[test]
    fn updates_are_partial_but_cannot_null_required_fields() {
        let customer = by_path("customer").unwrap();
        let update =
            check_update(customer, body(json!({"version": 2, "email": "a@b"})), "h").unwrap();
        assert_eq!(update.expected_version, Some(2));
        assert_eq!(Value::Object(update.patch), json!({"email": "a@b"}));
        let error = check_update(customer, body(json!({"name": null})), "h").unwrap_err();
        assert_eq!(fields(&error), ["name"]);
    }

    #[test]
    fn wrong_types_unknown_fields_and_enums_are_mapping_errors() {
        for (path, bad) in [
            ("product", json!({"name": 5})),
            ("product", json!({"version": "x"})),
            ("product", json!({"isInactive": "no"})),
            ("product", json!({"colour": "red"})),
            ("product", json!({"weightUnit": "lb"})),
            ("order", json!({"project": 5})),
        ] {
            let resource = by_path(path).unwrap();
            let error = check_create(resource, body(bad.clone()), "h").unwrap_err();
            assert!(matches!(error, InvalidBody::Mapping(_)), "{bad}: {error}");
        }
    }

    #[test]
    fn new_items_are_kept_whole_and_postings_must_balance() {
        let order = by_path("order").unwrap();
        let stored = check_create(
            order,
            body(json!({
                "customer": {"id": 3}, "orderDate": "2026-01-01", "deliveryDate": "2026-01-02",
                "orderLines": [{"id": 5}, {"description": "Beans", "count": 2, "order": {"id": 9}}],
            })),
            "h/v2",
        )
        .unwrap();
        assert_eq!(
            stored["orderLines"],
            json!([{"id": 5, "url": "h/v2/order/orderline/5"}, {"description": "Beans", "count": 2}])
        );
        let voucher = by_path("ledger/voucher").unwrap();
        let posting = |amount: f64| json!({"account": {"id": 1}, "amountGross": amount});
        let balanced = json!({"date": "2026-01-01", "description": "x",
                              "postings": [posting(100.0), posting(-100.0)]});
        assert!(check_create(voucher, body(balanced), "h").is_ok());
        let unbalanced = json!({"date": "2026-01-01", "description": "x",
                                "postings": [posting(100.0), posting(-99.0)]});
        let error = check_create(voucher, body(unbalanced), "h").unwrap_err();
        assert_eq!(fields(&error), ["postings"]);
    }
}
