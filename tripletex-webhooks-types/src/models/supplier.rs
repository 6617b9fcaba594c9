//! The `Supplier` payload model (`supplier.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Language;
use crate::models::Ref;

/// A supplier (`Supplier` in the OpenAPI document).
///
/// Carried by `supplier.create` and `supplier.update`; `supplier.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supplier {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/supplier/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The supplier's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organization number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_number: Option<String>,
    /// The supplier number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_number: Option<i32>,
    /// The customer number, when the supplier is also a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<i32>,
    /// Whether this is a supplier (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_supplier: Option<bool>,
    /// Whether the supplier is also a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_customer: Option<bool>,
    /// Whether the supplier is inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inactive: Option<bool>,
    /// Whether the supplier is a private person rather than a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private_individual: Option<bool>,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The e-mail address for invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_email: Option<String>,
    /// The phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile: Option<String>,
    /// A free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Norwegian bank account numbers (deprecated by Tripletex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_accounts: Option<Vec<String>>,
    /// The account manager ([`Employee`](crate::models::Employee)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_manager: Option<Ref>,
    /// The postal address (`Address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<Ref>,
    /// The physical address (`Address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_address: Option<Ref>,
    /// The delivery address (`DeliveryAddress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<Ref>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// The payables ledger account ([`Account`](crate::models::Account)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_account: Option<Ref>,
    /// The language of documents sent to the supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The name as displayed, number included (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
