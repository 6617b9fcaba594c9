//! How query values compare: numbers as numbers, text as text (dates are
//! `YYYY-MM-DD` text, so text order is date order), booleans by name.

use std::cmp::Ordering;

use serde_json::Value;

/// Whether a stored value equals a parameter's text (`3000` equals "3000",
/// `true` equals "true" in any case, text exactly).
pub(crate) fn equals(value: &Value, raw: &str) -> bool {
    match value {
        Value::Number(number) => raw.trim().parse::<f64>().ok() == number.as_f64(),
        Value::Bool(flag) => raw
            .trim()
            .eq_ignore_ascii_case(if *flag { "true" } else { "false" }),
        Value::String(text) => text == raw,
        _ => false,
    }
}

/// Whether stored text contains a parameter's text, ignoring case.
pub(crate) fn contains(value: &Value, raw: &str) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.to_lowercase().contains(&raw.to_lowercase()))
}

/// How a stored value compares with a parameter's text: numerically when
/// both are numbers, else as text; `None` when they cannot be compared.
pub(crate) fn against(value: &Value, raw: &str) -> Option<Ordering> {
    match value {
        Value::Number(number) => number
            .as_f64()?
            .partial_cmp(&raw.trim().parse::<f64>().ok()?),
        Value::String(text) => Some(text.as_str().cmp(raw)),
        _ => None,
    }
}

/// How two stored values sort: absent or `null` after every value, then
/// by kind (booleans, numbers, text), then within a kind.
pub(crate) fn order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a, b) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            _ => rank(a).cmp(&rank(b)),
        },
    }
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_compare_by_kind() {
        assert!(equals(&json!(3000), "3000"));
        assert!(equals(&json!(10.5), "10.5"));
        assert!(equals(&json!(true), "TRUE"));
        assert!(!equals(&json!("Acme"), "acme"));
        assert!(contains(&json!("Espresso"), "SPR"));
        assert!(!contains(&json!(5), "5"));
        assert_eq!(against(&json!(9), "10"), Some(Ordering::Less));
        assert_eq!(
            against(&json!("2026-03-02"), "2026-03-02"),
            Some(Ordering::Equal)
        );
        assert_eq!(against(&json!(9), "x"), None);
        assert_eq!(order(None, Some(&json!(1))), Ordering::Greater);
        assert_eq!(order(Some(&json!(2)), Some(&json!(10))), Ordering::Less);
        assert_eq!(
            order(Some(&json!("b")), Some(&json!("a"))),
            Ordering::Greater
        );
    }
}
