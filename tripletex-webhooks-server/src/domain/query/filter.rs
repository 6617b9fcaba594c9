//! One search parameter applied to an object, with its documented meaning.

use std::cmp::Ordering;

use serde_json::Value;

use super::compare::{against, contains, equals};
use super::path::{FieldPath, Lookup};
use crate::domain::model::FilterKind;

/// A search parameter with its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    /// What it means.
    kind: FilterKind,
    /// The field it compares (none for `changedSince`).
    path: Option<FieldPath>,
    /// The parameter's value.
    raw: String,
}

impl Filter {
    /// A filter of `kind` on `path` with the parameter's value `raw`.
    pub(crate) fn new(kind: FilterKind, path: Option<FieldPath>, raw: &str) -> Self {
        Self {
            kind,
            path,
            raw: raw.to_owned(),
        }
    }

    /// The resources this filter follows references into.
    pub(crate) fn loads(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.path.iter().flat_map(FieldPath::loads)
    }

    /// Whether `object` passes. A field without a value passes no
    /// comparison.
    pub(crate) fn matches(&self, object: &Value, lookup: &Lookup) -> bool {
        if self.kind == FilterKind::ChangedSince {
            return changed_since(object, &self.raw);
        }
        let Some(value) = self
            .path
            .as_ref()
            .and_then(|path| path.resolve(object, lookup))
        else {
            return self.kind == FilterKind::None;
        };
        match self.kind {
            FilterKind::In => self
                .raw
                .split(',')
                .map(str::trim)
                .any(|item| equals(value, item)),
            FilterKind::Equals => equals(value, &self.raw),
            FilterKind::Contains => contains(value, &self.raw),
            FilterKind::From => against(value, &self.raw).is_some_and(Ordering::is_ge),
            FilterKind::To => against(value, &self.raw).is_some_and(Ordering::is_lt),
            FilterKind::ChangedSince | FilterKind::None => true,
        }
    }
}

/// Whether an entry of the object's change log is at or after `since`
/// (`YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss`: text order is time order).
fn changed_since(object: &Value, since: &str) -> bool {
    object
        .get("changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|change| change.get("timestamp")?.as_str())
        .any(|timestamp| timestamp >= since.trim())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(kind: FilterKind, path: &str, raw: &str) -> Filter {
        Filter::new(kind, FieldPath::parse("Product", path).ok(), raw)
    }

    #[test]
    fn each_kind_has_its_documented_meaning() {
        let lookup = Lookup::new();
        let product = json!({"id": 5, "name": "Espresso", "isInactive": false,
                             "costExcludingVatCurrency": 10, "vatType": {"id": 3},
                             "changes": [{"timestamp": "2026-03-02T10:00:00"}]});
        let cases = [
            (filter(FilterKind::In, "id", "4, 5"), true),
            (filter(FilterKind::In, "id", "4,6"), false),
            (filter(FilterKind::Equals, "isInactive", "false"), true),
            (filter(FilterKind::Equals, "vatType.id", "3"), true),
            (filter(FilterKind::Contains, "name", "PRESS"), true),
            (filter(FilterKind::Contains, "name", "lungo"), false),
            (
                filter(FilterKind::From, "costExcludingVatCurrency", "10"),
                true,
            ),
            (
                filter(FilterKind::To, "costExcludingVatCurrency", "10"),
                false,
            ),
            (
                filter(FilterKind::To, "costExcludingVatCurrency", "10.5"),
                true,
            ),
            (filter(FilterKind::Equals, "supplier.id", "1"), false),
            (
                Filter::new(FilterKind::ChangedSince, None, "2026-03-02"),
                true,
            ),
            (
                Filter::new(FilterKind::ChangedSince, None, "2026-03-03"),
                false,
            ),
            (Filter::new(FilterKind::None, None, "whatever"), true),
        ];
        for (filter, expected) in cases {
            assert_eq!(filter.matches(&product, &lookup), expected, "{filter:?}");
        }
    }
}
