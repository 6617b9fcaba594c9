//! The `Product` payload model (`product.*` events).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Change;
use crate::models::Ref;

/// A product or service that can be sold (`Product` in the OpenAPI document).
///
/// Carried by `product.create` and `product.update`; `product.delete` has no value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// The object's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The optimistic-lock revision. It grows with every change, but a webhook
    /// may skip versions, so compare rather than expect `+1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The object's scheme-less URL, e.g. `tripletex.no/v2/product/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The audit trail. Only present when the subscription's `fields` names
    /// `changes` explicitly (`*` never includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The product's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The product number, as the user entered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The product number as displayed (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_number: Option<String>,
    /// The product's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The description copied onto new order lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_line_description: Option<String>,
    /// The EAN (GTIN) barcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    /// The purchase cost excluding VAT, in the product's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_excluding_vat_currency: Option<f64>,
    /// The sales price excluding VAT, in the product's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_excluding_vat_currency: Option<f64>,
    /// The sales price including VAT, in the product's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_including_vat_currency: Option<f64>,
    /// Whether the product is inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inactive: Option<bool>,
    /// Whether stock is kept for the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_stock_item: Option<bool>,
    /// The quantity in stock (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_of_goods: Option<f64>,
    /// The unit it is sold in (`ProductUnit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_unit: Option<Ref>,
    /// The VAT type (`VatType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_type: Option<Ref>,
    /// The currency (`Currency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Ref>,
    /// The department (`Department`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Ref>,
    /// The income ledger account ([`Account`](crate::models::Account)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Ref>,
    /// The supplier ([`Supplier`](crate::models::Supplier)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Ref>,
    /// The weight, in [`Product::weight_unit`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// The unit of [`Product::weight`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_unit: Option<WeightUnit>,
    /// The name as displayed, number included (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Keys this crate does not model (newer or rarer API fields), kept verbatim so
    /// that re-serializing the object loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The unit of [`Product::weight`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WeightUnit {
    /// `kg`: kilograms.
    Kilogram,
    /// `g`: grams.
    Gram,
    /// `hg`: hectograms.
    Hectogram,
    /// A value this version of the crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(WeightUnit {
    Kilogram => "kg",
    Gram => "g",
    Hectogram => "hg",
});
