//! A request body against its official model, as Tripletex maps a body onto
//! its DTO before validating it: a key the model lacks, a value of the wrong
//! JSON type, an enum value outside the model, or an `int32` out of range
//! fails the mapping (422, code 16000), one message per field path.
//! Read-only fields are accepted and dropped, as Tripletex ignores them.

use serde_json::{Map, Value};
use tripletex_webhooks_types::ApiValidationMessage;

use super::field_type::{FieldType, is_read_only, properties};

/// Where a value sits: its field (`postings.account`) and its path with
/// list indices (`postings[0].account`), as Tripletex's messages name them.
#[derive(Debug, Clone)]
struct At {
    field: String,
    path: String,
}

impl At {
    fn top(name: &str) -> Self {
        Self {
            field: name.to_owned(),
            path: name.to_owned(),
        }
    }

    fn key(&self, name: &str) -> Self {
        Self {
            field: format!("{}.{name}", self.field),
            path: format!("{}.{name}", self.path),
        }
    }

    fn index(&self, index: usize) -> Self {
        Self {
            field: self.field.clone(),
            path: format!("{}[{index}]", self.path),
        }
    }

    fn message(&self, message: impl Into<String>) -> ApiValidationMessage {
        ApiValidationMessage {
            path: Some(self.path.clone()),
            ..ApiValidationMessage::new(self.field.clone(), message)
        }
    }
}

/// Checks `body` against `model` and drops its read-only fields; the
/// mapping errors, if any.
pub(crate) fn check_body(
    model: &str,
    mut body: Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ApiValidationMessage>> {
    let mut errors = Vec::new();
    check_object(model, &mut body, None, &mut errors);
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

/// Checks a new sub-object, item `index` of list `field` (`orderLines[0]`),
/// against its `model` and drops its read-only fields; messages name the
/// item's paths (`orderLines.count`, `orderLines[0].count`).
pub(crate) fn check_item(
    model: &str,
    item: &mut Map<String, Value>,
    field: &str,
    index: usize,
) -> Vec<ApiValidationMessage> {
    let mut errors = Vec::new();
    check_object(model, item, Some(&At::top(field).index(index)), &mut errors);
    errors
}

/// Checks the keys of an object of `model` (at `at`, or the top level) and
/// drops the read-only ones.
fn check_object(
    model: &str,
    object: &mut Map<String, Value>,
    at: Option<&At>,
    errors: &mut Vec<ApiValidationMessage>,
) {
    let Some(props) = properties(model) else {
        return;
    };
    object.retain(|name, value| {
        let here = at.map_or_else(|| At::top(name), |at| at.key(name));
        let Some(schema) = props.get(name) else {
            errors.push(here.message(format!(
                "Unrecognized field \"{name}\": the model {model} has no such property."
            )));
            return false;
        };
        if is_read_only(schema) {
            return false;
        }
        check_value(&FieldType::of(schema), value, &here, errors);
        true
    });
}

/// Checks one value against its type.
fn check_value(
    kind: &FieldType,
    value: &mut Value,
    at: &At,
    errors: &mut Vec<ApiValidationMessage>,
) {
    if value.is_null() {
        return;
    }
    let expected = match kind {
        FieldType::Text { values } => match (value.as_str(), values) {
            (None, _) => Some("a string"),
            (Some(text), Some(values)) if !values.iter().any(|v| v == text) => {
                errors.push(at.message(format!(
                    "\"{text}\" is not one of the values of this field: {}.",
                    values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
                )));
                None
            }
            _ => None,
        },
        FieldType::Integer { int32 } => match value.as_i64() {
            None => Some(if *int32 {
                "a 32-bit integer"
            } else {
                "an integer"
            }),
            Some(n) if *int32 && i32::try_from(n).is_err() => Some("a 32-bit integer"),
            Some(_) => None,
        },
        FieldType::Number => (!value.is_number()).then_some("a number"),
        FieldType::Boolean => (!value.is_boolean()).then_some("a boolean"),
        FieldType::Reference { .. } => (!value.is_object()).then_some("an object"),
        FieldType::Embedded { model } => match value {
            Value::Object(object) => {
                check_object(model, object, Some(at), errors);
                None
            }
            _ => Some("an object"),
        },
        FieldType::List(item) => match value {
            Value::Array(items) => {
                for (index, element) in items.iter_mut().enumerate() {
                    check_value(item, element, &at.index(index), errors);
                }
                None
            }
            _ => Some("a list"),
        },
        FieldType::Free => None,
    };
    if let Some(expected) = expected {
        errors.push(at.message(format!(
            "invalid type: expected {expected}, found {}.",
            json_type(value)
        )));
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(model: &str, value: Value) -> Result<Value, Vec<(String, String)>> {
        let Value::Object(body) = value else {
            return Err(Vec::new());
        };
        check_body(model, body)
            .map(Value::Object)
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|m| (m.field.unwrap_or_default(), m.path.unwrap_or_default()))
                    .collect()
            })
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
            .collect()
    }

    #[test]
    fn read_only_fields_are_dropped_and_the_rest_kept() {
        assert_eq!(
            check(
                "Product",
                json!({"name": "x", "stockOfGoods": 5, "url": "u", "weightUnit": null})
            ),
            Ok(json!({"name": "x", "weightUnit": null}))
        );
    }

    #[test]
    fn unknown_fields_wrong_types_and_enums_name_their_paths() {
        assert_eq!(
            check(
                "Product",
                json!({"colour": "red", "name": 5, "isInactive": "no", "weightUnit": "lb"})
            ),
            Err(fields(&[
                ("colour", "colour"),
                ("name", "name"),
                ("isInactive", "isInactive"),
                ("weightUnit", "weightUnit")
            ]))
        );
        assert_eq!(
            check(
                "Account",
                json!({"number": 3_000_000_000_i64, "vatType": 3})
            ),
            Err(fields(&[("number", "number"), ("vatType", "vatType")]))
        );
        assert_eq!(
            check(
                "Employee",
                json!({"internationalId": {"intAmeldingType": "X", "nope": 1}})
            ),
            Err(fields(&[
                (
                    "internationalId.intAmeldingType",
                    "internationalId.intAmeldingType"
                ),
                ("internationalId.nope", "internationalId.nope")
            ]))
        );
        assert_eq!(
            check("Supplier", json!({"bankAccounts": ["1", 2]})),
            Err(fields(&[("bankAccounts", "bankAccounts[1]")]))
        );
    }

    #[test]
    fn new_items_are_checked_against_their_model() {
        let mut line = json!({"count": "two", "amountExcludingVatCurrency": 5, "x": 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let errors: Vec<_> = check_item("OrderLine", &mut line, "orderLines", 1)
            .into_iter()
            .map(|m| (m.field.unwrap_or_default(), m.path.unwrap_or_default()))
            .collect();
        assert_eq!(
            errors,
            fields(&[
                ("orderLines.count", "orderLines[1].count"),
                ("orderLines.x", "orderLines[1].x")
            ])
        );
        assert!(
            !line.contains_key("amountExcludingVatCurrency"),
            "read-only: dropped"
        );
    }
}
