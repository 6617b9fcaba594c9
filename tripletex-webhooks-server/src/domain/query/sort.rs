//! `sorting`: comma-separated field paths, each ascending or, with a `-`
//! prefix, descending (`name`, `-date`, `project.name, -date`).

use std::cmp::Ordering;

use serde_json::Value;

use super::compare::order;
use super::path::{FieldPath, Lookup};

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    /// The field.
    pub(crate) path: FieldPath,
    /// Whether it sorts largest first.
    pub(crate) descending: bool,
}

/// Parses a `sorting` value against `model`; why not, naming the key.
pub(crate) fn parse_sorting(model: &str, sorting: &str) -> Result<Vec<SortKey>, String> {
    sorting
        .split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| {
            let (descending, name) = match key.strip_prefix('-') {
                Some(name) => (true, name.trim()),
                None => (false, key),
            };
            FieldPath::parse(model, name)
                .map(|path| SortKey { path, descending })
                .map_err(|why| format!("Illegal sorting key '{key}': {why}"))
        })
        .collect()
}

/// How two objects sort by `keys`, the first key first; equal ones keep
/// their order (the caller's, by id).
pub(crate) fn compare(keys: &[SortKey], a: &Value, b: &Value, lookup: &Lookup) -> Ordering {
    keys.iter()
        .map(|key| {
            let ordering = order(key.path.resolve(a, lookup), key.path.resolve(b, lookup));
            if key.descending {
                ordering.reverse()
            } else {
                ordering
            }
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn several_keys_each_with_its_direction() {
        let keys = parse_sorting("Product", "isInactive, -name").unwrap();
        let lookup = Lookup::new();
        let mut products = [
            json!({"name": "a", "isInactive": false}),
            json!({"name": "b", "isInactive": true}),
            json!({"name": "c", "isInactive": false}),
        ];
        products.sort_by(|a, b| compare(&keys, a, b, &lookup));
        let names: Vec<_> = products.iter().map(|p| p["name"].clone()).collect();
        assert_eq!(names, [json!("c"), json!("a"), json!("b")]);
    }

    #[test]
    fn a_key_the_model_lacks_is_refused_by_name() {
        let error = parse_sorting("Product", "name,-colour").unwrap_err();
        assert!(error.contains("-colour"), "{error}");
        assert!(parse_sorting("Product", "").unwrap().is_empty());
    }
}
