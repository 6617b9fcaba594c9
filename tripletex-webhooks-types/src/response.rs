//! The API2 response envelopes: `{"value": …}` and list responses.

use serde::{Deserialize, Serialize};

/// A single-value response, `{"value": …}` (`ResponseWrapperXxx` in the spec).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ValueResponse<T> {
    /// The wrapped value.
    pub value: T,
}

impl<T> ValueResponse<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self { value }
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

/// A page of a list response (`ListResponseXxx` in the spec).
///
/// ```
/// use tripletex_webhooks_types::{ListResponse, Subscription};
///
/// let body = r#"{"fullResultSize":1,"from":0,"count":1,"versionDigest":null,
///   "values":[{"id":1,"event":"product.create","status":"ACTIVE"}]}"#;
/// let page: ListResponse<Subscription> = serde_json::from_str(body)?;
/// assert_eq!(page.values[0].id, Some(1));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// The number of values in the full result (documented as inexact and deprecated).
    #[serde(default)]
    pub full_result_size: i64,
    /// The index of the first value of this page.
    #[serde(default)]
    pub from: i64,
    /// The number of values in this page.
    #[serde(default)]
    pub count: i64,
    /// A digest of the full result; a checksum when the request sent
    /// `If-None-Match`, and `null` when there is no result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_digest: Option<String>,
    /// The values of this page.
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

impl<T> Default for ListResponse<T> {
    fn default() -> Self {
        Self {
            full_result_size: 0,
            from: 0,
            count: 0,
            version_digest: None,
            values: Vec::new(),
        }
    }
}

impl<T> ListResponse<T> {
    /// A page of `values` starting at `from`, out of `full_result_size`.
    pub fn page(values: Vec<T>, from: i64, full_result_size: i64) -> Self {
        Self {
            full_result_size,
            from,
            count: i64::try_from(values.len()).unwrap_or(i64::MAX),
            version_digest: None,
            values,
        }
    }

    /// The index just after this page: where the next page starts.
    pub fn next_from(&self) -> i64 {
        self.from.saturating_add(self.count)
    }

    /// Whether pages follow this one.
    pub fn has_more(&self) -> bool {
        self.count > 0 && self.next_from() < self.full_result_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn value_response_round_trips() {
        let wrapped: ValueResponse<Value> =
            serde_json::from_value(json!({"value": {"id": 1}})).unwrap();
        assert_eq!(wrapped.value["id"], 1);
        assert_eq!(
            serde_json::to_value(&wrapped).unwrap(),
            json!({"value": {"id": 1}})
        );
    }

    #[test]
    fn list_response_paging() {
        let page = ListResponse::page(vec![1, 2], 2, 5);
        assert_eq!((page.count, page.next_from()), (2, 4));
        assert!(page.has_more());
        let last = ListResponse::page(vec![5], 4, 5);
        assert!(!last.has_more());
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(
            json,
            json!({"fullResultSize": 5, "from": 2, "count": 2, "values": [1, 2]})
        );
    }

    #[test]
    fn list_response_tolerates_missing_counters() {
        let page: ListResponse<i32> =
            serde_json::from_value(json!({"values": [1], "versionDigest": null})).unwrap();
        assert_eq!(page.values, vec![1]);
        assert_eq!(page.version_digest, None);
    }
}
