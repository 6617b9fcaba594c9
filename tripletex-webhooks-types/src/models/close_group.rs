//! The `CloseGroup` payload model (`closeGroup.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Posting;
use crate::models::Ref;

/// A group of postings closed (matched) against each other
/// (`CloseGroup` in the OpenAPI document).
///
/// Carried by `closeGroup.create`, with the closed postings. `closeGroup.delete`
/// has no value, so remember the postings from the `create` event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseGroup {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/ledger/closeGroup/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The date of the closing, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The closed postings ([`Posting`]; read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postings: Option<Vec<Ref>>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CloseGroup {
    /// Decodes [`CloseGroup::postings`] as [`Posting`]s (stubs decode too,
    /// with only `id` and `url` set). An absent list gives an empty vector.
    pub fn postings_expanded(&self) -> Result<Vec<Posting>, serde_json::Error> {
        self.postings.iter().flatten().map(Ref::expand).collect()
    }
}
