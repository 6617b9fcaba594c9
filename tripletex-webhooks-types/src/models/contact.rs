//! The `Contact` payload model (`contact.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A contact person at a customer (`Contact` in the OpenAPI document).
///
/// Carried by `contact.create` and `contact.update`; `contact.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/contact/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The full name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The country of the mobile number (`Country`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile_country: Option<Ref>,
    /// The mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile: Option<String>,
    /// The work phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_work: Option<String>,
    /// The customer the contact belongs to ([`Customer`](crate::models::Customer)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// Whether the contact is inactive (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inactive: Option<bool>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
