//! What a property of an official schema holds, read from its JSON Schema.

use serde_json::Value;

use super::data::data;

/// What a property holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldType {
    /// Text, limited to `values` when the schema has an `enum`.
    Text {
        /// The allowed values, if limited.
        values: Option<&'static [Value]>,
    },
    /// A whole number; `int32` ones are range-checked.
    Integer {
        /// Whether the format is `int32`.
        int32: bool,
    },
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Another object, by `{id}`: a schema with an `id` property.
    Reference {
        /// The referenced model (`Customer`).
        model: &'static str,
    },
    /// A value object stored inside this one: a schema without `id`.
    Embedded {
        /// Its model (`InternationalId`).
        model: &'static str,
    },
    /// A list of values of one type.
    List(Box<FieldType>),
    /// An object with free keys (`additionalProperties`), or a schema the
    /// data does not describe: anything but a scalar of the wrong kind.
    Free,
}

impl FieldType {
    /// The type of a property's schema.
    pub(crate) fn of(schema: &'static Value) -> Self {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            return model_type(target.rsplit('/').next().unwrap_or(target));
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => Self::Text {
                values: schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice),
            },
            Some("integer") => Self::Integer {
                int32: schema.get("format").and_then(Value::as_str) == Some("int32"),
            },
            Some("number") => Self::Number,
            Some("boolean") => Self::Boolean,
            Some("array") => Self::List(Box::new(schema.get("items").map_or(Self::Free, Self::of))),
            _ => Self::Free,
        }
    }

    /// The model a reference or a list of references points to.
    pub(crate) fn referenced_model(&self) -> Option<&'static str> {
        match self {
            Self::Reference { model } => Some(model),
            Self::List(item) => item.referenced_model(),
            _ => None,
        }
    }
}

fn model_type(name: &str) -> FieldType {
    match data().schemas.get_key_value(name) {
        Some((name, schema)) if schema["properties"].get("id").is_some() => {
            FieldType::Reference { model: name }
        }
        Some((name, _)) => FieldType::Embedded { model: name },
        None => FieldType::Free,
    }
}

/// The properties of model `name`, in the document's order.
pub(crate) fn properties(model: &str) -> Option<&'static serde_json::Map<String, Value>> {
    data().schemas.get(model)?.get("properties")?.as_object()
}

/// One property of a model: its schema and type.
pub(crate) fn property(model: &str, name: &str) -> Option<(&'static Value, FieldType)> {
    let schema = properties(model)?.get(name)?;
    Some((schema, FieldType::of(schema)))
}

/// Whether a property's schema is `readOnly`.
pub(crate) fn is_read_only(schema: &Value) -> bool {
    schema.get("readOnly").and_then(Value::as_bool) == Some(true)
}

/// The API path of a model's objects (`Customer` → `customer`), for stub URLs.
pub(crate) fn path_of(model: &str) -> Option<&'static str> {
    data().model_paths.get(model).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_as_their_types() {
        let kind = |model, name| property(model, name).map(|(_, kind)| kind);
        assert_eq!(
            kind("Order", "customer"),
            Some(FieldType::Reference { model: "Customer" })
        );
        assert_eq!(
            kind("Order", "orderLines"),
            Some(FieldType::List(Box::new(FieldType::Reference {
                model: "OrderLine"
            })))
        );
        assert_eq!(
            kind("Employee", "internationalId"),
            Some(FieldType::Embedded {
                model: "InternationalId"
            })
        );
        assert_eq!(
            kind("Account", "number"),
            Some(FieldType::Integer { int32: true })
        );
        assert!(
            matches!(kind("Product", "weightUnit"), Some(FieldType::Text { values: Some(v) }) if v.len() == 3)
        );
        assert_eq!(kind("Product", "nope"), None);
        assert_eq!(path_of("OrderLine"), Some("order/orderline"));
        assert_eq!(path_of("Address"), Some("address"));
    }
}
