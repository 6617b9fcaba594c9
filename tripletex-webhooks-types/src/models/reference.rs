//! References between objects: `{id, url}` stubs that may also be expanded.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A reference to another object.
///
/// Without a `fields` filter that expands it, Tripletex serializes a reference as a
/// stub, `{"id": 12345, "url": "tripletex.no/v2/project/12345"}`. With `project(*)`
/// or `project(name)` the same key carries the (possibly partial) object instead:
/// every key other than `id` and `url` is kept in [`Ref::fields`], so nothing is lost
/// and [`Ref::expand`] can decode it into the referenced model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ref {
    /// The referenced object's id (absent when a filter such as `project(name)` dropped it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The referenced object's scheme-less URL, e.g. `tripletex.no/v2/product/7`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The other keys of an expanded reference.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Ref {
    /// A stub with only an id.
    pub fn id(id: i64) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// A stub with an id and its URL.
    pub fn stub(id: i64, url: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            url: Some(url.into()),
            fields: Map::new(),
        }
    }

    /// Whether this reference carries more than `id` and `url`.
    pub fn is_expanded(&self) -> bool {
        !self.fields.is_empty()
    }

    /// Decodes the reference as the full model it points to (for example a
    /// [`Customer`](crate::models::Customer) for `order.customer(*)`).
    pub fn expand<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.to_json_object()))
    }

    fn to_json_object(&self) -> Map<String, Value> {
        let mut object = Map::with_capacity(self.fields.len() + 2);
        if let Some(id) = self.id {
            object.insert("id".to_owned(), Value::from(id));
        }
        if let Some(url) = &self.url {
            object.insert("url".to_owned(), Value::from(url.clone()));
        }
        object.extend(self.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stub_round_trips() {
        let stub: Ref =
            serde_json::from_value(json!({"id": 7, "url": "tripletex.no/v2/product/7"})).unwrap();
        assert_eq!(stub, Ref::stub(7, "tripletex.no/v2/product/7"));
        assert!(!stub.is_expanded());
        assert_eq!(
            serde_json::to_value(&stub).unwrap(),
            json!({"id": 7, "url": "tripletex.no/v2/product/7"})
        );
    }

    #[test]
    fn expanded_reference_keeps_every_key() {
        let input = json!({"id": 4, "url": "tripletex.no/v2/documentArchive/4", "fileName": "file.png", "size": 136_955});
        let reference: Ref = serde_json::from_value(input.clone()).unwrap();
        assert!(reference.is_expanded());
        assert_eq!(serde_json::to_value(&reference).unwrap(), input);
        let expanded: Value = reference.expand().unwrap();
        assert_eq!(expanded, input);
    }

    #[test]
    fn partial_expansion_without_id() {
        let reference: Ref = serde_json::from_value(json!({"name": "Project X"})).unwrap();
        assert_eq!(reference.id, None);
        assert_eq!(reference.fields["name"], "Project X");
    }
}
