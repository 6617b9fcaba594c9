//! The audit trail entries (`changes`) that every persisted object can carry.

use serde::{Deserialize, Serialize};

/// One entry of an object's `changes` list (`Change` in the OpenAPI document).
///
/// Tripletex only includes `changes` when a `fields` filter names it explicitly
/// (`*,changes`); `*` never implies it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The employee who made the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    /// When the change was made, as Tripletex formats it (`YYYY-MM-DDThh:mm:ss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// What kind of change this was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_type: Option<ChangeType>,
}

/// The kind of a [`Change`]. Tripletex documents that only `CREATE` and `UPDATE`
/// are currently used; values it adds later are kept in [`ChangeType::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeType {
    /// `CREATE`
    Create,
    /// `UPDATE`
    Update,
    /// `DELETE`
    Delete,
    /// `LOCKED`
    Locked,
    /// `REOPENED`
    Reopened,
    /// `DO_NOT_SHOW`
    DoNotShow,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(ChangeType {
    Create => "CREATE",
    Update => "UPDATE",
    Delete => "DELETE",
    Locked => "LOCKED",
    Reopened => "REOPENED",
    DoNotShow => "DO_NOT_SHOW",
});
