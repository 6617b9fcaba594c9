//! The `Order` payload model (`order.*` events) and its [`OrderLine`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A sales order (`Order` in the OpenAPI document).
///
/// Carried by `order.create` and `order.update`; `order.delete` has no value.
/// The API requires `customer`, `orderDate` and `deliveryDate` when creating one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/order/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The customer ([`Customer`](crate::models::Customer)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Ref>,
    /// The customer's contact person ([`Contact`](crate::models::Contact)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Ref>,
    /// Our contact person ([`Employee`](crate::models::Employee)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub our_contact_employee: Option<Ref>,
    /// The name as displayed (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The customer's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the invoice for this order is e-mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_email: Option<String>,
    /// The order date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<String>,
    /// The delivery date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<String>,
    /// The project ([`Project`](crate::models::Project)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// A comment printed on the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_comment: Option<String>,
    /// The order's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Whether the order is closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_closed: Option<bool>,
    /// The payment term, counted in [`Order::invoices_due_in_type`] units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices_due_in: Option<i32>,
    /// The unit of [`Order::invoices_due_in`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices_due_in_type: Option<InvoicesDueInType>,
    /// The order lines ([`OrderLine`]). Stubs unless the subscription expands them
    /// (`orderLines(*)`); see [`Order::order_lines_expanded`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_lines: Option<Vec<Ref>>,
    /// Whether this is a subscription (repeating) order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_subscription: Option<bool>,
    /// The preliminary invoice ([`Invoice`](crate::models::Invoice)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preliminary_invoice: Option<Ref>,
    /// Whether amounts including VAT are the ones entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_prioritize_amounts_including_vat: Option<bool>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Order {
    /// Decodes [`Order::order_lines`] as [`OrderLine`]s.
    ///
    /// Stubs decode too (only `id` and `url` set); expand them with a
    /// `fields` filter such as `*,orderLines(*)` to get the whole lines.
    /// An absent list gives an empty vector.
    pub fn order_lines_expanded(&self) -> Result<Vec<OrderLine>, serde_json::Error> {
        self.order_lines.iter().flatten().map(Ref::expand).collect()
    }
}

/// One line of an [`Order`] (`OrderLine` in the OpenAPI document).
///
/// Orders carry their lines as stubs; with `orderLines(*)` each stub holds a
/// whole line, decoded by [`Order::order_lines_expanded`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/order/orderline/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The product ([`Product`](crate::models::Product)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Ref>,
    /// The inventory the goods are taken from (`Inventory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Ref>,
    /// The line's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
    /// The unit cost, in the order's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost_currency: Option<f64>,
    /// The unit price excluding VAT, in the order's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_excluding_vat_currency: Option<f64>,
    /// The unit price including VAT, in the order's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_including_vat_currency: Option<f64>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// The markup, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markup: Option<f64>,
    /// The discount, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
    /// The VAT type (`VatType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_type: Option<Ref>,
    /// The line total excluding VAT (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_excluding_vat_currency: Option<f64>,
    /// The line total including VAT (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_including_vat_currency: Option<f64>,
    /// The order the line belongs to ([`Order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Ref>,
    /// The line's position on the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_index: Option<i32>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The progress of an [`Order`] (`Order.status`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// `NOT_CHOSEN`: no status chosen.
    NotChosen,
    /// `NEW`: new.
    New,
    /// `CONFIRMATION_SENT`: the order confirmation was sent.
    ConfirmationSent,
    /// `READY_FOR_PICKING`: ready to be picked.
    ReadyForPicking,
    /// `PICKED`: picked.
    Picked,
    /// `PACKED`: packed.
    Packed,
    /// `READY_FOR_SHIPPING`: ready to be shipped.
    ReadyForShipping,
    /// `READY_FOR_INVOICING`: ready to be invoiced.
    ReadyForInvoicing,
    /// `INVOICED`: invoiced.
    Invoiced,
    /// `CANCELLED`: cancelled.
    Cancelled,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(OrderStatus {
    NotChosen => "NOT_CHOSEN",
    New => "NEW",
    ConfirmationSent => "CONFIRMATION_SENT",
    ReadyForPicking => "READY_FOR_PICKING",
    Picked => "PICKED",
    Packed => "PACKED",
    ReadyForShipping => "READY_FOR_SHIPPING",
    ReadyForInvoicing => "READY_FOR_INVOICING",
    Invoiced => "INVOICED",
    Cancelled => "CANCELLED",
});

/// The unit of a payment term (`Order.invoicesDueInType`, also used by
/// [`Customer`](crate::models::Customer)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InvoicesDueInType {
    /// `DAYS`: due after that many days.
    Days,
    /// `MONTHS`: due after that many months.
    Months,
    /// `RECURRING_DAY_OF_MONTH`: due on that day of the month.
    RecurringDayOfMonth,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(InvoicesDueInType {
    Days => "DAYS",
    Months => "MONTHS",
    RecurringDayOfMonth => "RECURRING_DAY_OF_MONTH",
});
