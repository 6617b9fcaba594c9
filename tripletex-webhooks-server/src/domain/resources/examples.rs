//! Realistic sample objects, one per payload model, for the examples of
//! `GET /event/{eventType}`. Their references point at each other (the
//! example order's customer is the example customer), as real data would.

use serde_json::{Map, Value, json};

use crate::domain::model::complete::with_defaults;
use crate::domain::object::object_url;

const PRODUCT: i64 = 1001;
const SUPPLIER: i64 = 2001;
const CUSTOMER: i64 = 3001;
const EMPLOYEE: i64 = 4001;
const ACCOUNT: i64 = 5001;
const CONTACT: i64 = 6001;
const PROJECT: i64 = 7001;
const ORDER: i64 = 8001;
const INVOICE: i64 = 9001;
const VOUCHER: i64 = 9501;
const POSTINGS: [i64; 2] = [9601, 9602];
const ORDER_LINES: [i64; 2] = [8101, 8102];
const NOK: i64 = 1;
const VAT_25: i64 = 3;

/// A reference stub, `{id, url}`.
fn stub(base: &str, path: &str, id: i64) -> Value {
    json!({"id": id, "url": object_url(base, path, id)})
}

/// An object: `id`, `version` and `url` first, then `fields`; for a model
/// the data has, every field of it (the unset ones at their defaults), as a
/// delivery of such an object carries them.
fn object(base: &str, path: &str, id: i64, version: i32, fields: Value) -> Value {
    let mut object = Map::new();
    object.insert("id".to_owned(), Value::from(id));
    object.insert("version".to_owned(), Value::from(version));
    object.insert("url".to_owned(), Value::from(object_url(base, path, id)));
    if let Value::Object(fields) = fields {
        object.extend(with_defaults(path, &fields).unwrap_or(fields));
    }
    Value::Object(object)
}

/// A `Product`.
pub(crate) fn product(base: &str) -> Value {
    object(
        base,
        "product",
        PRODUCT,
        3,
        json!({
            "name": "Espresso beans 1 kg",
            "number": "ESP-1000",
            "displayNumber": "ESP-1000",
            "description": "Dark roast, whole beans",
            "ean": "7038010055690",
            "costExcludingVatCurrency": 120.0,
            "priceExcludingVatCurrency": 249.0,
            "priceIncludingVatCurrency": 311.25,
            "isInactive": false,
            "isStockItem": true,
            "stockOfGoods": 42.0,
            "vatType": stub(base, "ledger/vatType", VAT_25),
            "currency": stub(base, "currency", NOK),
            "account": stub(base, "ledger/account", ACCOUNT),
            "supplier": stub(base, "supplier", SUPPLIER),
            "weight": 1.0,
            "weightUnit": "kg",
            "displayName": "ESP-1000 Espresso beans 1 kg",
        }),
    )
}

/// A `Customer`.
pub(crate) fn customer(base: &str) -> Value {
    object(
        base,
        "customer",
        CUSTOMER,
        1,
        json!({
            "name": "Nordic Coffee AS",
            "organizationNumber": "987654321",
            "customerNumber": 10001,
            "isCustomer": true,
            "isSupplier": false,
            "isInactive": false,
            "isPrivateIndividual": false,
            "email": "post@nordiccoffee.example",
            "invoiceEmail": "faktura@nordiccoffee.example",
            "phoneNumber": "+47 22 12 34 56",
            "language": "NO",
            "invoiceSendMethod": "EMAIL",
            "invoicesDueIn": 14,
            "invoicesDueInType": "DAYS",
            "accountManager": stub(base, "employee", EMPLOYEE),
            "postalAddress": stub(base, "address", 9901),
            "currency": stub(base, "currency", NOK),
            "displayName": "Nordic Coffee AS (10001)",
        }),
    )
}

/// A `Supplier`.
pub(crate) fn supplier(base: &str) -> Value {
    object(
        base,
        "supplier",
        SUPPLIER,
        0,
        json!({
            "name": "Bean Importers AS",
            "organizationNumber": "912345678",
            "supplierNumber": 20001,
            "isSupplier": true,
            "isCustomer": false,
            "isInactive": false,
            "email": "orders@beanimporters.example",
            "phoneNumber": "+47 55 98 76 54",
            "bankAccounts": ["12345678903"],
            "currency": stub(base, "currency", NOK),
            "displayName": "Bean Importers AS (20001)",
        }),
    )
}

/// An `Employee`.
pub(crate) fn employee(base: &str) -> Value {
    object(
        base,
        "employee",
        EMPLOYEE,
        2,
        json!({
            "firstName": "Kari",
            "lastName": "Nordmann",
            "displayName": "Kari Nordmann",
            "employeeNumber": "17",
            "dateOfBirth": "1985-04-12",
            "email": "kari.nordmann@nordiccoffee.example",
            "phoneNumberMobile": "+47 912 34 567",
            "userType": "STANDARD",
            "isContact": false,
            "department": stub(base, "department", 1),
            "employments": [stub(base, "employee/employment", 4101)],
        }),
    )
}

/// A `Contact`.
pub(crate) fn contact(base: &str) -> Value {
    object(
        base,
        "contact",
        CONTACT,
        0,
        json!({
            "firstName": "Ola",
            "lastName": "Hansen",
            "displayName": "Ola Hansen",
            "email": "ola.hansen@nordiccoffee.example",
            "phoneNumberMobile": "+47 987 65 432",
            "customer": stub(base, "customer", CUSTOMER),
            "isInactive": false,
        }),
    )
}

/// A `Project`.
pub(crate) fn project(base: &str) -> Value {
    object(
        base,
        "project",
        PROJECT,
        4,
        json!({
            "name": "Office coffee rollout",
            "number": "P-1001",
            "displayName": "P-1001 Office coffee rollout",
            "description": "Machines and beans for three offices",
            "projectManager": stub(base, "employee", EMPLOYEE),
            "startDate": "2026-01-05",
            "endDate": "2026-06-30",
            "customer": stub(base, "customer", CUSTOMER),
            "isClosed": false,
            "isInternal": false,
            "isOffer": false,
            "isFixedPrice": true,
            "fixedprice": 150_000.0,
            "currency": stub(base, "currency", NOK),
            "contact": stub(base, "contact", CONTACT),
            "participants": [stub(base, "project/participant", 7101)],
            "accessType": "WRITE",
        }),
    )
}

/// An `Order`.
pub(crate) fn order(base: &str) -> Value {
    object(
        base,
        "order",
        ORDER,
        1,
        json!({
            "customer": stub(base, "customer", CUSTOMER),
            "contact": stub(base, "contact", CONTACT),
            "ourContactEmployee": stub(base, "employee", EMPLOYEE),
            "number": "8001",
            "reference": "PO-5521",
            "orderDate": "2026-03-02",
            "deliveryDate": "2026-03-09",
            "project": stub(base, "project", PROJECT),
            "currency": stub(base, "currency", NOK),
            "status": "READY_FOR_INVOICING",
            "isClosed": false,
            "invoicesDueIn": 14,
            "invoicesDueInType": "DAYS",
            "orderLines": ORDER_LINES.map(|id| stub(base, "order/orderline", id)),
            "isSubscription": false,
            "isPrioritizeAmountsIncludingVat": false,
        }),
    )
}

/// An `Account` (a ledger account).
pub(crate) fn account(base: &str) -> Value {
    object(
        base,
        "ledger/account",
        ACCOUNT,
        0,
        json!({
            "number": 3000,
            "numberPretty": "3000",
            "name": "Salgsinntekt, avgiftspliktig",
            "description": "Sales revenue, VAT liable",
            "type": "OPERATING_REVENUES",
            "ledgerType": "GENERAL",
            "vatType": stub(base, "ledger/vatType", VAT_25),
            "vatLocked": false,
            "currency": stub(base, "currency", NOK),
            "isInactive": false,
            "isBankAccount": false,
            "isInvoiceAccount": false,
            "requiresDepartment": false,
            "requiresProject": false,
            "displayName": "3000 Salgsinntekt, avgiftspliktig",
        }),
    )
}

/// A `Voucher`.
pub(crate) fn voucher(base: &str) -> Value {
    object(
        base,
        "ledger/voucher",
        VOUCHER,
        1,
        json!({
            "date": "2026-03-10",
            "number": 42,
            "tempNumber": 0,
            "year": 2026,
            "description": "Invoice 10042 to Nordic Coffee AS",
            "voucherType": stub(base, "ledger/voucherType", 1),
            "postings": POSTINGS.map(|id| stub(base, "ledger/posting", id)),
            "displayName": "42-2026",
            "numberAsString": "42-2026",
        }),
    )
}

/// An `Invoice`.
pub(crate) fn invoice(base: &str) -> Value {
    object(
        base,
        "invoice",
        INVOICE,
        0,
        json!({
            "invoiceNumber": 10042,
            "invoiceDate": "2026-03-10",
            "invoiceDueDate": "2026-03-24",
            "customer": stub(base, "customer", CUSTOMER),
            "kid": "100420",
            "orders": [stub(base, "order", ORDER)],
            "orderLines": ORDER_LINES.map(|id| stub(base, "order/orderline", id)),
            "voucher": stub(base, "ledger/voucher", VOUCHER),
            "amount": 3112.5,
            "amountCurrency": 3112.5,
            "amountExcludingVat": 2490.0,
            "amountOutstanding": 3112.5,
            "currency": stub(base, "currency", NOK),
            "isCreditNote": false,
            "isCharged": true,
            "isApproved": true,
            "postings": POSTINGS.map(|id| stub(base, "ledger/posting", id)),
            "ehfSendStatus": "DO_NOT_SEND",
        }),
    )
}

/// A `Notification` (`notification.sent`).
pub(crate) fn notification(base: &str) -> Value {
    object(
        base,
        "notification",
        9701,
        0,
        json!({
            "date": "2026-03-25",
            "title": "Invoice 10042 is overdue",
            "message": "Invoice 10042 to Nordic Coffee AS was due on 2026-03-24 and is not paid.",
            "type": "INVOICE_OVERDUE",
            "category": "INVOICE",
            "link": object_url(base, "invoice", INVOICE),
        }),
    )
}

/// A `VoucherStatus` (`voucherstatus.ready`).
pub(crate) fn voucher_status(base: &str) -> Value {
    object(
        base,
        "voucherStatus",
        9801,
        0,
        json!({
            "voucher": stub(base, "ledger/voucher", VOUCHER),
            "type": "TRIPLETEX",
            "status": "WAITING",
            "timestamp": "2026-03-10T09:15:00",
            "message": "NONE",
            "comment": "",
            "referenceNumber": "",
        }),
    )
}

/// An `ArchiveRelation` (`archiverelation.*`), shaped like Tripletex's own
/// example: no `url`, the document as a reference to the document archive.
pub(crate) fn archive_relation(base: &str) -> Value {
    json!({
        "id": 9851,
        "version": 0,
        "url": null,
        "document": object(base, "documentArchive", 9852, 5, json!({
            "fileName": "delivery-note.png",
            "size": 136_955,
            "archiveDate": "2026-03-09",
            "mimeType": "image/png",
        })),
        "archiveObjectId": PROJECT,
        "archiveObjectType": "PROJECT",
    })
}

/// A `CloseGroup` (`closeGroup.create`): postings closed against each other.
pub(crate) fn close_group(base: &str) -> Value {
    object(
        base,
        "ledger/closeGroup",
        9951,
        0,
        json!({
            "date": "2026-03-24",
            "postings": POSTINGS.map(|id| stub(base, "ledger/posting", id)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::field_type::properties;
    use crate::domain::resources::RESOURCES;

    #[test]
    fn hosted_examples_have_every_field_of_their_model_and_keep_their_values() {
        for resource in RESOURCES {
            let example = (resource.example)("h/v2");
            let keys: Vec<&str> = example
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let model: Vec<&str> = properties(resource.model)
                .map(|p| {
                    p.keys()
                        .map(String::as_str)
                        .filter(|k| *k != "changes")
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(keys, model, "{}", resource.path);
        }
        let product = product("h/v2");
        assert_eq!(
            product["stockOfGoods"], 42.0,
            "read-only values of examples are kept"
        );
        assert_eq!(product["volumeUnit"], "cm3", "unset ones are defaults");
    }
}
