//! How a stored object looks on the wire: `id`, `version`, `changes` (which
//! only a `fields` filter naming it lets through), `url`, then every field of
//! its official model ([`crate::domain::model::complete`]), in Tripletex's
//! order. The store renders webhook payloads with the same function, so a
//! payload is what `GET` gives.

use serde_json::{Map, Value};

use crate::domain::model::complete;
use crate::store::ObjectRecord;

/// The full JSON of an object, before any `fields` filter. A resource
/// without a model (none is hosted so) keeps its stored fields as they are.
pub(crate) fn render(record: &ObjectRecord, url_base: &str) -> Value {
    let fields = complete(&record.resource, &record.body).unwrap_or_else(|| record.body.clone());
    let mut object = Map::with_capacity(fields.len() + 4);
    object.insert("id".to_owned(), Value::from(record.id));
    object.insert("version".to_owned(), Value::from(record.version));
    object.insert(
        "changes".to_owned(),
        serde_json::to_value(&record.changes).unwrap_or(Value::Null),
    );
    object.insert(
        "url".to_owned(),
        Value::from(object_url(url_base, &record.resource, record.id)),
    );
    object.extend(fields);
    Value::Object(object)
}

/// The scheme-less URL Tripletex uses: `host/v2/resource/id`.
pub(crate) fn object_url(url_base: &str, resource: &str, id: i64) -> String {
    format!("{url_base}/{resource}/{id}")
}

/// `http://host:port/prefix` → `host:port/prefix/v2`: the base of every `url` field.
pub(crate) fn url_base(public_url: &str) -> String {
    let without_scheme = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest)
        .trim_end_matches('/');
    if without_scheme.ends_with("/v2") {
        without_scheme.to_owned()
    } else {
        format!("{without_scheme}/v2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hosted_object_has_every_field_of_its_model() {
        let record = ObjectRecord {
            id: 7,
            resource: "contact".into(),
            version: 0,
            body: json!({"firstName": "Ola", "isInactive": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            changes: vec![],
        };
        let rendered = render(&record, "h/v2");
        let keys: Vec<&str> = rendered
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let model: Vec<&str> = crate::domain::model::field_type::properties("Contact")
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, model);
        assert_eq!(rendered["displayName"], "Ola");
        assert_eq!(rendered["isInactive"], false, "read-only, never stored");
        assert_eq!(rendered["customer"], Value::Null);
    }

    #[test]
    fn url_base_is_scheme_less_and_ends_in_v2() {
        assert_eq!(url_base("http://127.0.0.1:8080"), "127.0.0.1:8080/v2");
        assert_eq!(url_base("https://tripletex.no/v2/"), "tripletex.no/v2");
        assert_eq!(
            object_url("tripletex.no/v2", "ledger/account", 3),
            "tripletex.no/v2/ledger/account/3"
        );
    }

    #[test]
    fn render_puts_identity_first() {
        let record = ObjectRecord {
            id: 7,
            resource: "elsewhere".into(),
            version: 2,
            body: json!({"name": "Espresso"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            changes: vec![],
        };
        let rendered = render(&record, "h/v2");
        assert_eq!(
            rendered,
            json!({"id": 7, "version": 2, "changes": [], "url": "h/v2/elsewhere/7", "name": "Espresso"})
        );
        let keys: Vec<_> = rendered.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[..4], ["id", "version", "changes", "url"]);
    }
}
