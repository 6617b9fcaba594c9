//! The `ArchiveRelation` payload model (`archiverelation.*` events).
//!
//! The OpenAPI document has no schema for it; the shape comes from Tripletex's
//! announcement of the document events, whose example payload is
//!
//! ```json
//! {"id": 1, "version": 0, "url": null,
//!  "document": {"id": 4, "version": 5, "url": "tripletex.no/v2/documentArchive/4",
//!               "fileName": "file.png", "size": 136955, "archiveDate": "2022-08-02",
//!               "mimeType": "image/png"},
//!  "archiveObjectId": 8, "archiveObjectType": "PROJECT"}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;

/// A file in the document archive attached to an object such as a project, order
/// or invoice. Carried by `archiverelation.create`, `update` and `delete`.
///
/// Tripletex recommends the subscription `fields` `"*, document()"`, which
/// expands [`ArchiveRelation::document`]. `url` is `null` in the known example.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveRelation {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL; `null` (so `None`) in the known example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The archived file. A stub (only `id` and `url`) unless expanded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<ArchiveDocument>,
    /// The id of the object the file is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_object_id: Option<i64>,
    /// The kind of object the file is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_object_type: Option<ArchiveObjectType>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The file of an [`ArchiveRelation`] (`DocumentArchive` in the OpenAPI document).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveDocument {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/documentArchive/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The size in bytes (int32 in the spec; `i64` costs nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// When the file was archived, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_date: Option<String>,
    /// The MIME type, e.g. `image/png`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The kind of object an [`ArchiveRelation`] attaches a file to.
///
/// Only `PROJECT` has been seen; the events also fire for orders and invoices,
/// whose wire names are undocumented and so arrive as [`ArchiveObjectType::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArchiveObjectType {
    /// `PROJECT`: a [`Project`](crate::models::Project).
    Project,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(ArchiveObjectType {
    Project => "PROJECT",
});
