//! Payload models: the objects that webhook events carry in `value`.
//!
//! Every model has the common part of a persisted Tripletex object (`id`,
//! `version`, `url`, `changes`) followed by its own fields. Because a
//! subscription's `fields` filter may drop any key, every field is an
//! [`Option`], and keys this crate does not model are kept in an `extra` map,
//! so decoding and re-encoding a payload keeps every key. (A `null` value
//! decodes to `None`, which is not written back.) References to other objects
//! are [`Ref`]s: `{id, url}` stubs, or whole objects when the filter expands
//! them.
//!
//! ```
//! use tripletex_webhooks_types::models::{PayloadModel, Product, WeightUnit};
//!
//! let product: Product = serde_json::from_str(
//!     r#"{"id": 7, "version": 3, "url": "tripletex.no/v2/product/7",
//!         "name": "Coffee", "priceExcludingVatCurrency": 39.5,
//!         "vatType": {"id": 3, "url": "tripletex.no/v2/ledger/vatType/3"},
//!         "weightUnit": "kg", "someNewField": true}"#,
//! )?;
//! assert_eq!(product.id(), Some(7));
//! assert_eq!(product.name.as_deref(), Some("Coffee"));
//! assert_eq!(product.vat_type.and_then(|vat| vat.id), Some(3));
//! assert_eq!(product.weight_unit, Some(WeightUnit::Kilogram));
//! assert_eq!(product.extra["someNewField"], true);
//! assert_eq!(Product::NAME, "Product");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod account;
mod archive_relation;
mod close_group;
mod contact;
mod customer;
mod employee;
mod invoice;
mod notification;
mod order;
mod product;
mod project;
mod reference;
mod supplier;
mod voucher;
mod voucher_status;

pub use account::{Account, AccountType, LedgerType};
pub use archive_relation::{ArchiveDocument, ArchiveObjectType, ArchiveRelation};
pub use close_group::CloseGroup;
pub use contact::Contact;
pub use customer::{Customer, InvoiceSendMethod, Language};
pub use employee::{Employee, UserType};
pub use invoice::{EhfSendStatus, Invoice};
pub use notification::Notification;
pub use order::{InvoicesDueInType, Order, OrderLine, OrderStatus};
pub use product::{Product, WeightUnit};
pub use project::{AccessType, Project};
pub use reference::Ref;
pub use supplier::Supplier;
pub use voucher::{Posting, PostingType, Voucher};
pub use voucher_status::{
    VoucherStatus, VoucherStatusMessage, VoucherStatusState, VoucherStatusType,
};

/// A top-level webhook payload model: the type of an event's `value`.
pub trait PayloadModel: Serialize + DeserializeOwned + Clone + Debug + PartialEq + Default {
    /// The model's name as `GET /event` reports it in `payloadModel`, e.g. `"Product"`.
    const NAME: &'static str;

    /// The object's id, if the payload has one.
    fn id(&self) -> Option<i64>;

    /// The object's optimistic-lock version, if the payload has one.
    fn version(&self) -> Option<i32>;
}

/// Implements [`PayloadModel`] for models whose name equals their `payloadModel`.
macro_rules! payload_model {
    ($($model:ident),+ $(,)?) => {
        $(
            impl PayloadModel for $model {
                const NAME: &'static str = stringify!($model);

                fn id(&self) -> Option<i64> {
                    self.id
                }

                fn version(&self) -> Option<i32> {
                    self.version
                }
            }
        )+
    };
}

payload_model!(
    Product,
    Order,
    Customer,
    Supplier,
    Employee,
    Contact,
    Project,
    Account,
    Voucher,
    Invoice,
    Notification,
    ArchiveRelation,
    VoucherStatus,
    CloseGroup,
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_the_types() {
        assert_eq!(Order::NAME, "Order");
        assert_eq!(ArchiveRelation::NAME, "ArchiveRelation");
        assert_eq!(CloseGroup::NAME, "CloseGroup");
    }

    #[test]
    fn order_lines_expand_from_stubs_and_objects() {
        let order: Order = serde_json::from_value(json!({
            "id": 1,
            "orderLines": [
                {"id": 10, "url": "tripletex.no/v2/order/orderline/10"},
                {"id": 11, "url": "tripletex.no/v2/order/orderline/11", "count": 2.0, "description": "Coffee"}
            ]
        }))
        .unwrap();
        let lines = order.order_lines_expanded().unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].id, Some(10));
        assert_eq!(lines[0].count, None);
        assert_eq!(lines[1].count, Some(2.0));
        assert_eq!(lines[1].description.as_deref(), Some("Coffee"));
        assert!(Order::default().order_lines_expanded().unwrap().is_empty());
    }

    #[test]
    fn postings_expand() {
        let voucher: Voucher = serde_json::from_value(json!({
            "postings": [{"id": 5, "amount": -100.0, "type": "WAGE", "row": 1}]
        }))
        .unwrap();
        let postings = voucher.postings_expanded().unwrap();
        assert_eq!(postings[0].amount, Some(-100.0));
        assert_eq!(postings[0].r#type, Some(PostingType::Wage));
        let group: CloseGroup =
            serde_json::from_value(json!({"id": 2, "postings": [{"id": 5}, {"id": 6}]})).unwrap();
        let ids: Vec<_> = group
            .postings_expanded()
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, [Some(5), Some(6)]);
    }

    #[test]
    fn wire_names_that_are_not_camel_case() {
        let project = Project {
            fixed_price: Some(1000.0),
            ..Project::default()
        };
        assert_eq!(
            serde_json::to_value(&project).unwrap(),
            json!({"fixedprice": 1000.0})
        );
        let account: Account = serde_json::from_value(
            json!({"bankAccountIBAN": "NO9386011117947", "bankAccountSWIFT": "DNBANOKK", "type": "ASSETS"}),
        )
        .unwrap();
        assert_eq!(
            account.bank_account_iban.as_deref(),
            Some("NO9386011117947")
        );
        assert_eq!(account.bank_account_swift.as_deref(), Some("DNBANOKK"));
        assert_eq!(account.r#type, Some(AccountType::Assets));
        assert!(account.extra.is_empty());
        let customer: Customer =
            serde_json::from_value(json!({"invoiceSendSMSNotification": true})).unwrap();
        assert_eq!(customer.invoice_send_sms_notification, Some(true));
    }

    #[test]
    fn enums_keep_unknown_values() {
        let status: OrderStatus = serde_json::from_value(json!("ON_HOLD")).unwrap();
        assert_eq!(status, OrderStatus::Unknown("ON_HOLD".to_owned()));
        assert_eq!(serde_json::to_value(&status).unwrap(), json!("ON_HOLD"));
        assert_eq!(WeightUnit::Hectogram.as_str(), "hg");
        assert_eq!("NO".parse::<Language>().unwrap(), Language::Norwegian);
    }
}
