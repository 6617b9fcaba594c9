//! The `Invoice` payload model (`invoice.charged`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// An outgoing invoice (`Invoice` in the OpenAPI document).
///
/// Carried by `invoice.charged` ("a new invoice has been created and charged").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/invoice/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The invoice number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<i32>,
    /// The invoice date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_date: Option<String>,
    /// The due date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_due_date: Option<String>,
    /// The customer ([`Customer`](crate::models::Customer)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref>,
    /// The KID payment reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The comment printed on the invoice (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_comment: Option<String>,
    /// The invoiced orders ([`Order`](crate::models::Order)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<Vec<Ref>>,
    /// The invoiced order lines ([`OrderLine`](crate::models::OrderLine); read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_lines: Option<Vec<Ref>>,
    /// The invoice's voucher ([`Voucher`](crate::models::Voucher)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<Ref>,
    /// The delivery date, `YYYY-MM-DD` (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
    /// The total including VAT, in the company's currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// The total including VAT, in the invoice currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_currency: Option<f64>,
    /// The total excluding VAT, in the company's currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_excluding_vat: Option<f64>,
    /// The total excluding VAT, in the invoice currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_excluding_vat_currency: Option<f64>,
    /// The unpaid amount, in the company's currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_outstanding: Option<f64>,
    /// The unpaid amount, in the invoice currency (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_currency_outstanding: Option<f64>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// Whether this is a credit note (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_credit_note: Option<bool>,
    /// Whether the invoice has been credited (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_credited: Option<bool>,
    /// Whether the invoice is charged (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_charged: Option<bool>,
    /// Whether the invoice is approved (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_approved: Option<bool>,
    /// For a credit note, the id of the invoice it credits (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_invoice: Option<i32>,
    /// The postings ([`Posting`](crate::models::Posting); read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postings: Option<Vec<Ref>>,
    /// The reminders sent (`Reminder`; read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Vec<Ref>>,
    /// The amount paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_amount: Option<f64>,
    /// The id of the payment type used for [`Invoice::paid_amount`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type_id: Option<i32>,
    /// The id of the invoice document (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<i32>,
    /// The EHF (e-invoice) sending status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ehf_send_status: Option<EhfSendStatus>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The EHF sending status of an [`Invoice`] (`Invoice.ehfSendStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EhfSendStatus {
    /// `DO_NOT_SEND`: not to be sent as EHF.
    DoNotSend,
    /// `SEND`: to be sent.
    Send,
    /// `SENT`: sent.
    Sent,
    /// `SEND_FAILURE_RECIPIENT_NOT_FOUND`: failed: the recipient is not in the EHF registry.
    SendFailureRecipientNotFound,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(EhfSendStatus {
    DoNotSend => "DO_NOT_SEND",
    Send => "SEND",
    Sent => "SENT",
    SendFailureRecipientNotFound => "SEND_FAILURE_RECIPIENT_NOT_FOUND",
});
