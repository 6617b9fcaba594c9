//! The `Customer` payload model (`customer.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::InvoicesDueInType;
use crate::models::Ref;

/// A customer (`Customer` in the OpenAPI document).
///
/// Carried by `customer.create` and `customer.update`; `customer.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/customer/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The customer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organization number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_number: Option<String>,
    /// The customer number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<i32>,
    /// The supplier number, when the customer is also a supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_number: Option<i32>,
    /// Whether this is a customer (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_customer: Option<bool>,
    /// Whether the customer is also a supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_supplier: Option<bool>,
    /// Whether the customer is inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inactive: Option<bool>,
    /// Whether the customer is a private person rather than a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private_individual: Option<bool>,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Where invoices are e-mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_email: Option<String>,
    /// Where overdue notices are e-mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_notice_email: Option<String>,
    /// The phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_mobile: Option<String>,
    /// A free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The language of documents sent to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// How invoices are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_send_method: Option<InvoiceSendMethod>,
    /// Whether an SMS is sent when an invoice is sent.
    #[serde(
        rename = "invoiceSendSMSNotification",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_send_sms_notification: Option<bool>,
    /// The number such SMSes go to.
    #[serde(
        rename = "invoiceSMSNotificationNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_sms_notification_number: Option<String>,
    /// The payment term, counted in [`Customer::invoices_due_in_type`] units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices_due_in: Option<i32>,
    /// The unit of [`Customer::invoices_due_in`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices_due_in_type: Option<InvoicesDueInType>,
    /// The account manager ([`Employee`](crate::models::Employee)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_manager: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
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
    /// The receivables ledger account ([`Account`](crate::models::Account)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_account: Option<Ref>,
    /// The name as displayed, number included.
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

/// The language of documents sent to a customer or supplier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Language {
    /// `NO`: Norwegian.
    Norwegian,
    /// `EN`: English.
    English,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(Language {
    Norwegian => "NO",
    English => "EN",
});

/// How invoices are sent to a [`Customer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InvoiceSendMethod {
    /// `EMAIL`: e-mail.
    Email,
    /// `EHF`: EHF e-invoice (PEPPOL).
    Ehf,
    /// `EFAKTURA`: eFaktura to the customer's online bank.
    Efaktura,
    /// `AVTALEGIRO`: AvtaleGiro direct debit.
    Avtalegiro,
    /// `VIPPS`: Vipps.
    Vipps,
    /// `PAPER`: printed and posted.
    Paper,
    /// `MANUAL`: handled manually.
    Manual,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(InvoiceSendMethod {
    Email => "EMAIL",
    Ehf => "EHF",
    Efaktura => "EFAKTURA",
    Avtalegiro => "AVTALEGIRO",
    Vipps => "VIPPS",
    Paper => "PAPER",
    Manual => "MANUAL",
});
