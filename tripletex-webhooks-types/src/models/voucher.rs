//! The `Voucher` payload model (`voucher.*` events) and its [`Posting`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A ledger voucher (`Voucher` in the OpenAPI document).
///
/// Carried by `voucher.create` and `voucher.update` (which also fires when the
/// postings change); `voucher.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Voucher {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/ledger/voucher/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The voucher date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The voucher number (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i32>,
    /// The temporary number before the voucher is booked (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_number: Option<i32>,
    /// The accounting year of the number (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// The voucher's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The voucher type (`VoucherType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher_type: Option<Ref>,
    /// The voucher reversing this one ([`Voucher`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_voucher: Option<Ref>,
    /// The postings ([`Posting`]). Stubs unless the subscription expands them
    /// (`postings(*)`); see [`Voucher::postings_expanded`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postings: Option<Vec<Ref>>,
    /// The voucher document (`Document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Ref>,
    /// The attachment (`Document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Ref>,
    /// The EDI document (`Document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edi_document: Option<Ref>,
    /// A number from an external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_voucher_number: Option<String>,
    /// The supplier's invoice number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_invoice_number: Option<String>,
    /// The name as displayed (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The number as displayed, e.g. `12-2024` (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_as_string: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Voucher {
    /// Decodes [`Voucher::postings`] as [`Posting`]s.
    ///
    /// Stubs decode too (only `id` and `url` set); expand them with a
    /// `fields` filter such as `*,postings(*)` to get the whole postings.
    /// An absent list gives an empty vector.
    pub fn postings_expanded(&self) -> Result<Vec<Posting>, serde_json::Error> {
        self.postings.iter().flatten().map(Ref::expand).collect()
    }
}

/// One posting (ledger line) of a [`Voucher`] (`Posting` in the OpenAPI document).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posting {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/ledger/posting/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The voucher ([`Voucher`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<Ref>,
    /// The posting date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The posting's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The ledger account ([`Account`](crate::models::Account)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Ref>,
    /// The customer ([`Customer`](crate::models::Customer)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref>,
    /// The supplier ([`Supplier`](crate::models::Supplier)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Ref>,
    /// The employee ([`Employee`](crate::models::Employee)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee: Option<Ref>,
    /// The project ([`Project`](crate::models::Project)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Ref>,
    /// The product ([`Product`](crate::models::Product)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The VAT type (`VatType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_type: Option<Ref>,
    /// The amount in the company's currency; debit positive, credit negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// The amount in [`Posting::currency`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_currency: Option<f64>,
    /// The amount including VAT, in the company's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_gross: Option<f64>,
    /// The amount including VAT, in [`Posting::currency`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_gross_currency: Option<f64>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// The group of postings this one is closed with ([`CloseGroup`](crate::models::CloseGroup)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_group: Option<Ref>,
    /// The invoice number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// The due date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_of_payment: Option<String>,
    /// The row on the voucher (row 0 is system-generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<i32>,
    /// What the posting records (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<PostingType>,
    /// A reference from an external system (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// Whether Tripletex generated the posting (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_generated: Option<bool>,
    /// Whether the posting is matched (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a [`Posting`] records (`Posting.type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PostingType {
    /// `INCOMING_PAYMENT`: an incoming payment.
    IncomingPayment,
    /// `INCOMING_PAYMENT_OPPOSITE`: the opposite side of an incoming payment.
    IncomingPaymentOpposite,
    /// `INCOMING_INVOICE_CUSTOMER_POSTING`: the customer posting of an incoming invoice.
    IncomingInvoiceCustomerPosting,
    /// `INVOICE_EXPENSE`: an invoice expense.
    InvoiceExpense,
    /// `OUTGOING_INVOICE_CUSTOMER_POSTING`: the customer posting of an outgoing invoice.
    OutgoingInvoiceCustomerPosting,
    /// `WAGE`: a wage posting.
    Wage,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(PostingType {
    IncomingPayment => "INCOMING_PAYMENT",
    IncomingPaymentOpposite => "INCOMING_PAYMENT_OPPOSITE",
    IncomingInvoiceCustomerPosting => "INCOMING_INVOICE_CUSTOMER_POSTING",
    InvoiceExpense => "INVOICE_EXPENSE",
    OutgoingInvoiceCustomerPosting => "OUTGOING_INVOICE_CUSTOMER_POSTING",
    Wage => "WAGE",
});
