//! Shaping a JSON value the way Tripletex does for a given `fields` filter.

use serde_json::{Map, Value};

use super::{CHANGES, FieldSelection, FieldsFilter};

/// How one kept key's value is rendered.
enum Shape<'a> {
    /// As under `*`: references become `{id,url}` stubs.
    Leaf,
    /// With the field's own sub-selection.
    Expand(&'a FieldsFilter),
}

impl FieldsFilter {
    /// Applies the filter to `value` and returns the shaped copy.
    ///
    /// An object keeps the keys the filter selects, in the source order; an
    /// array has the filter applied to each element; anything else (also
    /// `null`) is returned unchanged. Keys the filter names but the object
    /// lacks are simply absent. See the [module docs](super) for the rules.
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Object(object) => Value::Object(self.apply_object(object)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.apply(item)).collect())
            }
            other => other.clone(),
        }
    }

    /// The shape Tripletex returns when no `fields` is given; the same as
    /// applying the empty [`FieldsFilter::default`].
    pub fn default_shape(value: &Value) -> Value {
        Self::default().apply(value)
    }

    fn apply_object(&self, object: &Map<String, Value>) -> Map<String, Value> {
        // Computed once per object rather than once per key.
        let all = self.is_empty() || self.includes_all();
        object
            .iter()
            .filter_map(|(key, value)| {
                let shaped = match self.shape_of(key, all)? {
                    Shape::Leaf => leaf(value),
                    Shape::Expand(sub) => sub.apply(value),
                };
                Some((key.clone(), shaped))
            })
            .collect()
    }

    /// How `key` is kept at this level, or `None` if it is left out. `all`
    /// says whether this level is `*` or the default shape.
    fn shape_of(&self, key: &str, all: bool) -> Option<Shape<'_>> {
        match self.get(key) {
            Some(FieldSelection::Field { sub: Some(sub), .. }) => Some(Shape::Expand(sub)),
            Some(_) => Some(Shape::Leaf),
            None if all && key != CHANGES => Some(Shape::Leaf),
            None => None,
        }
    }
}

/// A value that was selected without a sub-selection: a reference becomes
/// its stub, an array has each reference stubbed, the rest is kept as is.
fn leaf(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(stub_or_clone).collect()),
        other => stub_or_clone(other),
    }
}

/// A nested object with an `id` is a reference to another resource, which
/// Tripletex renders as `{id,url}` unless it is expanded.
fn stub_or_clone(value: &Value) -> Value {
    match value {
        Value::Object(object) if object.contains_key("id") => Value::Object(
            object
                .iter()
                .filter(|(key, _)| matches!(key.as_str(), "id" | "url"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
