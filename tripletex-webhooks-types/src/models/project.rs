//! The `Project` payload model (`project.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A project (`Project` in the OpenAPI document).
///
/// Carried by `project.create` and `project.update`; `project.delete` has no value.
/// Note the wire name `fixedprice` (lower-case `p`) of [`Project::fixed_price`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/project/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The project's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The project number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The name as displayed, number included (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The project's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The project manager ([`Employee`](crate::models::Employee)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_manager: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The parent project, for sub-projects ([`Project`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_project: Option<Ref>,
    /// The start date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// The end date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// The customer ([`Customer`](crate::models::Customer)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref>,
    /// Whether the project is closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_closed: Option<bool>,
    /// Whether the project is ready to be invoiced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_ready_for_invoicing: Option<bool>,
    /// Whether the project is internal (not invoiced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_internal: Option<bool>,
    /// Whether this is an offer rather than a project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_offer: Option<bool>,
    /// Whether the project has a fixed price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_fixed_price: Option<bool>,
    /// The fixed price, in the project's currency (wire name `fixedprice`).
    #[serde(
        rename = "fixedprice",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed_price: Option<f64>,
    /// The category (`ProjectCategory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_category: Option<Ref>,
    /// The VAT type (`VatType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_type: Option<Ref>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// The customer's contact person ([`Contact`](crate::models::Contact)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Ref>,
    /// The customer's attention person ([`Contact`](crate::models::Contact)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<Ref>,
    /// The participants (`ProjectParticipant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<Ref>>,
    /// The customer's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A comment printed on invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_comment: Option<String>,
    /// The preliminary invoice ([`Invoice`](crate::models::Invoice)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preliminary_invoice: Option<Ref>,
    /// The access other employees have to the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_type: Option<AccessType>,
    /// The customer's name (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The access employees have to a [`Project`] (`Project.accessType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccessType {
    /// `NONE`: no access.
    None,
    /// `READ`: read access.
    Read,
    /// `WRITE`: write access.
    Write,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(AccessType {
    None => "NONE",
    Read => "READ",
    Write => "WRITE",
});
