//! Read-only fields the server computes from an object's own fields, where
//! the meaning is plain from Tripletex's model (a name to display, the year
//! of a date, the side of a customer or supplier). Every other read-only
//! field has its default; none is ever taken from a request.

use serde_json::{Map, Value};

/// The computed value of read-only field `name` of a `model` object with
/// stored fields `body`, if the server computes it.
pub(crate) fn derived(model: &str, name: &str, body: &Map<String, Value>) -> Option<Value> {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match (model, name) {
        ("Customer", "isCustomer") | ("Supplier", "isSupplier") | ("Invoice", "isCharged") => {
            Some(Value::Bool(true))
        }
        ("Employee" | "Contact", "displayName") => {
            Some(joined(&[text("firstName"), text("lastName")]))
        }
        ("Product" | "Project", "displayName") => Some(joined(&[text("number"), text("name")])),
        ("Product", "displayNumber") => Some(Value::from(text("number").unwrap_or_default())),
        ("Supplier", "displayName") => Some(Value::from(text("name").unwrap_or_default())),
        ("Account", "numberPretty") => body
            .get("number")
            .filter(|n| n.is_i64())
            .map(|n| Value::from(n.to_string())),
        ("Voucher", "year") => text("date")
            .and_then(|date| date.get(..4)?.parse::<i64>().ok())
            .map(Value::from),
        _ => None,
    }
}

/// The present parts, space-separated (`"Kari Nordmann"`, `"1001 Espresso"`).
fn joined(parts: &[Option<&str>]) -> Value {
    Value::from(
        parts
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn display_names_and_years_follow_the_stored_fields() {
        let person = body(json!({"firstName": "Kari", "lastName": "Nordmann"}));
        assert_eq!(
            derived("Employee", "displayName", &person),
            Some(json!("Kari Nordmann"))
        );
        let product = body(json!({"name": "Espresso"}));
        assert_eq!(
            derived("Product", "displayName", &product),
            Some(json!("Espresso"))
        );
        let numbered = body(json!({"name": "Espresso", "number": "1001"}));
        assert_eq!(
            derived("Product", "displayName", &numbered),
            Some(json!("1001 Espresso"))
        );
        assert_eq!(
            derived("Voucher", "year", &body(json!({"date": "2026-03-10"}))),
            Some(json!(2026))
        );
        assert_eq!(
            derived("Voucher", "year", &body(json!({"date": "x"}))),
            None
        );
        assert_eq!(
            derived("Account", "numberPretty", &body(json!({"number": 3000}))),
            Some(json!("3000"))
        );
        assert_eq!(
            derived("Customer", "isCustomer", &Map::new()),
            Some(json!(true))
        );
        assert_eq!(derived("Product", "costPrice", &product), None);
    }
}
