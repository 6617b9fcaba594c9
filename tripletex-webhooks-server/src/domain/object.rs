//! How a stored object looks on the wire: `id`, `version`, `url`, its fields,
//! and `changes` (which only a `fields` filter naming it lets through).

use serde_json::{Map, Value};

use crate::store::ObjectRecord;

/// The full JSON of an object, before any `fields` filter.
pub(crate) fn render(record: &ObjectRecord, url_base: &str) -> Value {
    let mut object = Map::with_capacity(record.body.len() + 4);
    object.insert("id".to_owned(), Value::from(record.id));
    object.insert("version".to_owned(), Value::from(record.version));
    object.insert(
        "url".to_owned(),
        Value::from(object_url(url_base, &record.resource, record.id)),
    );
    for (key, value) in &record.body {
        object.insert(key.clone(), value.clone());
    }
    object.insert(
        "changes".to_owned(),
        serde_json::to_value(&record.changes).unwrap_or(Value::Null),
    );
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
            resource: "product".into(),
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
            json!({"id": 7, "version": 2, "url": "h/v2/product/7", "name": "Espresso", "changes": []})
        );
        let keys: Vec<_> = rendered.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[..3], ["id", "version", "url"]);
    }
}
