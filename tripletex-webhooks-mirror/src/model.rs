//! The models a mirror can hold, tied to their subject for typed reads.

use serde::de::DeserializeOwned;
use tripletex_webhooks_types::Subject;
use tripletex_webhooks_types::models::{
    Account, Contact, Customer, Employee, Invoice, Order, Product, Project, Supplier, Voucher,
};

/// A model stored under one subject, read back with [`crate::Mirror::get`]
/// and [`crate::Mirror::all`].
pub trait Mirrored: DeserializeOwned {
    /// The subject its objects are stored under.
    const SUBJECT: Subject;
}

macro_rules! mirrored {
    ($($model:ident => $subject:ident),+ $(,)?) => {
        $(impl Mirrored for $model {
            const SUBJECT: Subject = Subject::$subject;
        })+
    };
}

mirrored!(
    Product => Product,
    Order => Order,
    Customer => Customer,
    Supplier => Supplier,
    Employee => Employee,
    Contact => Contact,
    Project => Project,
    Account => Account,
    Voucher => Voucher,
    Invoice => Invoice,
);
