#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tests of the webhook payload models: serde round trips, filtered and `null`
//! payloads, expanded references, and validation of serialized samples against
//! the official OpenAPI schemas.

use serde_json::{Map, Value, json};
use test_support::reference;
use tripletex_webhooks_types::models::{
    AccessType, Account, ArchiveObjectType, ArchiveRelation, CloseGroup, Contact, Customer,
    Employee, Invoice, InvoiceSendMethod, Language, Notification, Order, OrderStatus, PayloadModel,
    Product, Project, Ref, Supplier, Voucher, VoucherStatus, VoucherStatusMessage,
    VoucherStatusState, VoucherStatusType,
};
use tripletex_webhooks_types::{
    DecodeError, EventType, TripletexEvent, WebhookEnvelope, known_event_types,
};

/// Something to run for each model type.
trait Visit {
    fn visit<T: PayloadModel>(&mut self);
}

/// Runs `visitor` for all 14 top-level payload models.
fn each_model(visitor: &mut impl Visit) {
    visitor.visit::<Product>();
    visitor.visit::<Order>();
    visitor.visit::<Customer>();
    visitor.visit::<Supplier>();
    visitor.visit::<Employee>();
    visitor.visit::<Contact>();
    visitor.visit::<Project>();
    visitor.visit::<Account>();
    visitor.visit::<Voucher>();
    visitor.visit::<Invoice>();
    visitor.visit::<Notification>();
    visitor.visit::<ArchiveRelation>();
    visitor.visit::<VoucherStatus>();
    visitor.visit::<CloseGroup>();
}

/// The models that have a schema in the OpenAPI document.
const WITH_SCHEMA: [&str; 11] = [
    "Product",
    "Order",
    "Customer",
    "Supplier",
    "Employee",
    "Contact",
    "Project",
    "Account",
    "Voucher",
    "Invoice",
    "Notification",
];

/// A `{id, url}` stub as Tripletex sends it.
fn stub(path: &str, id: i64) -> Value {
    json!({"id": id, "url": format!("tripletex.no/v2/{path}/{id}")})
}

fn changes() -> Value {
    json!([
        {"employeeId": 17, "timestamp": "2024-03-01T10:15:00", "changeType": "CREATE"},
        {"employeeId": 17, "timestamp": "2024-03-04T08:02:11", "changeType": "UPDATE"}
    ])
}

/// A realistic payload for each model, with every modeled field and only
/// values the OpenAPI document allows.
fn sample(name: &str) -> Value {
    match name {
        "Product" => json!({
            "id": 1001, "version": 4, "url": "tripletex.no/v2/product/1001", "changes": changes(),
            "name": "Espresso beans 1 kg", "number": "ESP-1", "displayNumber": "ESP-1",
            "description": "Dark roast, whole beans", "orderLineDescription": "Espresso beans",
            "ean": "7038010055720", "costExcludingVatCurrency": 120.5,
            "priceExcludingVatCurrency": 249.0, "priceIncludingVatCurrency": 311.25,
            "isInactive": false, "isStockItem": true, "stockOfGoods": 42.0,
            "productUnit": stub("product/unit", 3), "vatType": stub("ledger/vatType", 3),
            "currency": stub("currency", 1), "department": stub("department", 2),
            "account": stub("ledger/account", 3000),
            "supplier": {"id": 55, "url": "tripletex.no/v2/supplier/55", "name": "Kaffebrenneriet AS"},
            "weight": 1.0, "weightUnit": "kg", "displayName": "ESP-1 Espresso beans 1 kg"
        }),
        "Order" => json!({
            "id": 2001, "version": 7, "url": "tripletex.no/v2/order/2001",
            "customer": stub("customer", 11_289_298), "contact": stub("contact", 301),
            "ourContactEmployee": stub("employee", 17), "displayName": "Order 1042",
            "number": "1042", "reference": "PO-7781", "receiverEmail": "invoice@acme.no",
            "orderDate": "2024-03-01", "deliveryDate": "2024-03-05",
            "project": stub("project", 88), "department": stub("department", 2),
            "currency": stub("currency", 1), "invoiceComment": "Thank you for your order",
            "status": "READY_FOR_INVOICING", "isClosed": false, "invoicesDueIn": 14,
            "invoicesDueInType": "DAYS",
            "orderLines": [
                stub("order/orderline", 1_192_712),
                {
                    "id": 1_192_713, "url": "tripletex.no/v2/order/orderline/1192713",
                    "product": stub("product", 1001), "description": "Espresso beans",
                    "count": 2.0, "unitPriceExcludingVatCurrency": 249.0,
                    "vatType": stub("ledger/vatType", 3), "order": stub("order", 2001),
                    "amountExcludingVatCurrency": 498.0
                }
            ],
            "isSubscription": false, "preliminaryInvoice": stub("invoice", 5001),
            "isPrioritizeAmountsIncludingVat": false
        }),
        "Customer" => json!({
            "id": 11_289_298, "version": 12, "url": "tripletex.no/v2/customer/11289298",
            "changes": changes(),
            "name": "Acme AS", "organizationNumber": "987654321", "customerNumber": 10_042,
            "supplierNumber": 0, "isCustomer": true, "isSupplier": false, "isInactive": false,
            "isPrivateIndividual": false, "email": "post@acme.no", "invoiceEmail": "invoice@acme.no",
            "overdueNoticeEmail": "", "phoneNumber": "+47 22 00 00 00",
            "phoneNumberMobile": "+47 900 00 000", "description": "", "language": "NO",
            "invoiceSendMethod": "EHF", "invoiceSendSMSNotification": false,
            "invoiceSMSNotificationNumber": "", "invoicesDueIn": 1, "invoicesDueInType": "MONTHS",
            "accountManager": stub("employee", 17), "department": stub("department", 2),
            "postalAddress": stub("address", 401), "physicalAddress": stub("address", 402),
            "deliveryAddress": stub("deliveryAddress", 403), "currency": stub("currency", 1),
            "ledgerAccount": stub("ledger/account", 1500), "displayName": "Acme AS (10042)",
            "website": "https://acme.no"
        }),
        "Supplier" => json!({
            "id": 55, "version": 2, "url": "tripletex.no/v2/supplier/55",
            "name": "Kaffebrenneriet AS", "organizationNumber": "912345678",
            "supplierNumber": 20_001, "customerNumber": 0, "isSupplier": true, "isCustomer": false,
            "isInactive": false, "isPrivateIndividual": false, "email": "post@kaffe.no",
            "invoiceEmail": "faktura@kaffe.no", "phoneNumber": "+47 22 11 11 11",
            "phoneNumberMobile": "", "description": "Coffee roaster",
            "bankAccounts": ["12345678903"], "accountManager": stub("employee", 17),
            "postalAddress": stub("address", 501), "physicalAddress": stub("address", 502),
            "deliveryAddress": stub("deliveryAddress", 503), "currency": stub("currency", 1),
            "ledgerAccount": stub("ledger/account", 2400), "language": "EN",
            "displayName": "Kaffebrenneriet AS (20001)", "website": "https://kaffe.no"
        }),
        "Employee" => json!({
            "id": 17, "version": 9, "url": "tripletex.no/v2/employee/17", "changes": changes(),
            "firstName": "Kari", "lastName": "Nordmann", "displayName": "Kari Nordmann",
            "employeeNumber": "17", "dateOfBirth": "1985-06-15", "email": "kari@example.no",
            "phoneNumberMobileCountry": stub("country", 161), "phoneNumberMobile": "+47 911 11 111",
            "phoneNumberHome": "", "phoneNumberWork": "+47 22 22 22 22",
            "nationalIdentityNumber": "15068512345", "bankAccountNumber": "12345678903",
            "iban": "", "bic": "", "userType": "EXTENDED", "isContact": false,
            "comments": "Team lead", "address": stub("address", 601),
            "department": stub("department", 2),
            "employments": [stub("employee/employment", 701)],
            "employeeCategory": stub("employee/category", 3), "companyId": 100
        }),
        "Contact" => json!({
            "id": 301, "version": 1, "url": "tripletex.no/v2/contact/301", "changes": changes(),
            "firstName": "Ola", "lastName": "Hansen", "displayName": "Ola Hansen",
            "email": "ola@acme.no", "phoneNumberMobileCountry": stub("country", 161),
            "phoneNumberMobile": "+47 922 22 222", "phoneNumberWork": "",
            "customer": stub("customer", 11_289_298), "department": stub("department", 2),
            "isInactive": false
        }),
        "Project" => json!({
            "id": 88, "version": 5, "url": "tripletex.no/v2/project/88",
            "name": "Office move", "number": "P-88", "displayName": "P-88 Office move",
            "description": "Move to the new office", "projectManager": stub("employee", 17),
            "department": stub("department", 2), "mainProject": stub("project", 80),
            "startDate": "2024-01-08", "endDate": "2024-06-30",
            "customer": stub("customer", 11_289_298), "isClosed": false,
            "isReadyForInvoicing": false, "isInternal": false, "isOffer": false,
            "isFixedPrice": true, "fixedprice": 150_000.0,
            "projectCategory": stub("project/category", 4), "vatType": stub("ledger/vatType", 3),
            "currency": stub("currency", 1), "contact": stub("contact", 301),
            "attention": stub("contact", 302),
            "participants": [stub("project/participant", 901), stub("project/participant", 902)],
            "reference": "PO-7700", "invoiceComment": "", "preliminaryInvoice": stub("invoice", 5002),
            "accessType": "WRITE", "customerName": "Acme AS"
        }),
        "Account" => json!({
            "id": 1920, "version": 3, "url": "tripletex.no/v2/ledger/account/1920",
            "number": 1920, "numberPretty": "1920", "name": "Bankinnskudd",
            "description": "Main bank account", "type": "ASSETS", "ledgerType": "GENERAL",
            "balanceGroup": "Bankinnskudd, kontanter o.l.", "vatType": stub("ledger/vatType", 0),
            "vatLocked": true, "currency": stub("currency", 1), "isCloseable": false,
            "isApplicableForSupplierInvoice": false, "requireReconciliation": true,
            "isInactive": false, "isBankAccount": true, "isInvoiceAccount": true,
            "bankAccountNumber": "12345678903", "bankAccountCountry": stub("country", 161),
            "bankName": "DNB", "bankAccountIBAN": "NO9312345678903", "bankAccountSWIFT": "DNBANOKK",
            "saftCode": "1920", "requiresDepartment": false, "requiresProject": false,
            "department": stub("department", 2), "displayName": "1920 Bankinnskudd"
        }),
        "Voucher" => json!({
            "id": 3001, "version": 2, "url": "tripletex.no/v2/ledger/voucher/3001",
            "changes": changes(),
            "date": "2024-03-04", "number": 12, "tempNumber": 0, "year": 2024,
            "description": "Office supplies", "voucherType": stub("ledger/voucherType", 9),
            "reverseVoucher": stub("ledger/voucher", 3002),
            "postings": [
                stub("ledger/posting", 4001),
                {
                    "id": 4002, "url": "tripletex.no/v2/ledger/posting/4002",
                    "date": "2024-03-04", "account": stub("ledger/account", 6800),
                    "amount": 400.0, "amountCurrency": 400.0, "amountGross": 500.0,
                    "amountGrossCurrency": 500.0, "row": 1, "type": "INVOICE_EXPENSE"
                }
            ],
            "document": stub("document", 6001), "attachment": stub("document", 6002),
            "ediDocument": stub("document", 6003), "externalVoucherNumber": "EXT-42",
            "vendorInvoiceNumber": "F-2024-118", "displayName": "12-2024 Office supplies",
            "numberAsString": "12-2024"
        }),
        "Invoice" => json!({
            "id": 5001, "version": 1, "url": "tripletex.no/v2/invoice/5001",
            "invoiceNumber": 10_511, "invoiceDate": "2024-03-05", "invoiceDueDate": "2024-03-19",
            "customer": stub("customer", 11_289_298), "kid": "0010511004", "comment": "",
            "invoiceComment": "Thank you for your order", "orders": [stub("order", 2001)],
            "orderLines": [stub("order/orderline", 1_192_712), stub("order/orderline", 1_192_713)],
            "voucher": stub("ledger/voucher", 3003), "deliveryDate": "2024-03-05",
            "amount": 1245.0, "amountCurrency": 1245.0, "amountExcludingVat": 996.0,
            "amountExcludingVatCurrency": 996.0, "amountOutstanding": 1245.0,
            "amountCurrencyOutstanding": 1245.0, "currency": stub("currency", 1),
            "isCreditNote": false, "isCredited": false, "isCharged": true, "isApproved": true,
            "creditedInvoice": 0, "postings": [stub("ledger/posting", 4101)],
            "reminders": [], "paidAmount": 0.0, "paymentTypeId": 0, "documentId": 6101,
            "ehfSendStatus": "SENT"
        }),
        "Notification" => json!({
            "id": 7001, "version": 0, "url": "tripletex.no/v2/notification/7001",
            "date": "2024-03-05T09:00:00", "title": "Invoice paid",
            "message": "Invoice 10511 from Acme AS has been paid.", "type": "INVOICE",
            "category": "PAYMENT", "link": "https://tripletex.no/execute/invoice?invoiceId=5001"
        }),
        "ArchiveRelation" => json!({
            "id": 1, "version": 0, "changes": changes(),
            "document": {
                "id": 4, "version": 5, "url": "tripletex.no/v2/documentArchive/4",
                "fileName": "file.png", "size": 136_955, "archiveDate": "2022-08-02",
                "mimeType": "image/png"
            },
            "archiveObjectId": 8, "archiveObjectType": "PROJECT"
        }),
        "VoucherStatus" => json!({
            "id": 8001, "version": 1, "url": "tripletex.no/v2/voucherStatus/8001",
            "voucher": stub("ledger/voucher", 3001), "type": "SUPPLIERINVOICE_EXTERNAL",
            "status": "WAITING", "timestamp": "2024-03-05T09:30:00", "message": "NEEDS_APPROVAL",
            "externalObjectUrl": "https://example.com/invoices/118", "comment": "",
            "referenceNumber": "REF-118"
        }),
        "CloseGroup" => json!({
            "id": 9001, "version": 0, "url": "tripletex.no/v2/ledger/closeGroup/9001",
            "date": "2024-03-19",
            "postings": [stub("ledger/posting", 4101), stub("ledger/posting", 4201)]
        }),
        other => panic!("no sample for {other}"),
    }
}

/// For models with an enum field: that field and a value this crate does not know.
fn unknown_enum_value(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "Product" => ("weightUnit", "mg"),
        "Order" => ("status", "ON_HOLD"),
        "Customer" => ("invoiceSendMethod", "CARRIER_PIGEON"),
        "Supplier" => ("language", "SV"),
        "Employee" => ("userType", "SUPERUSER"),
        "Project" => ("accessType", "ADMIN"),
        "Account" => ("ledgerType", "PROJECT"),
        "Invoice" => ("ehfSendStatus", "QUEUED"),
        "ArchiveRelation" => ("archiveObjectType", "INVOICE"),
        "VoucherStatus" => ("status", "ARCHIVED"),
        _ => return None,
    })
}

/// The sample plus keys this crate does not model and, where the model has
/// an enum, an enum value it does not know.
fn sample_with_unknowns(name: &str) -> Value {
    let mut value = sample(name);
    let object = value.as_object_mut().unwrap();
    object.insert("requiresFreeDimension1".to_owned(), json!(true));
    object.insert(
        "someFutureField".to_owned(),
        json!({"nested": [1, 2.5, "three", null], "flag": false}),
    );
    object.insert("someNullField".to_owned(), Value::Null);
    if let Some((key, unknown)) = unknown_enum_value(name) {
        assert!(
            object.contains_key(key),
            "{name}.{key} missing from the sample"
        );
        object.insert(key.to_owned(), json!(unknown));
    }
    value
}

fn decode<T: PayloadModel>(value: &Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{} does not decode: {e}\n{value:#}", T::NAME))
}

fn encode<T: PayloadModel>(model: &T) -> Value {
    serde_json::to_value(model).unwrap()
}

/// value → struct → value must give the same value, and decoding that again
/// the same struct.
fn assert_round_trip<T: PayloadModel>(input: &Value) -> T {
    let model: T = decode(input);
    let output = encode(&model);
    assert_eq!(&output, input, "{} does not round-trip", T::NAME);
    assert_eq!(decode::<T>(&output), model);
    model
}

#[test]
fn every_model_round_trips() {
    struct RoundTrip;
    impl Visit for RoundTrip {
        fn visit<T: PayloadModel>(&mut self) {
            let plain = sample(T::NAME);
            let model: T = assert_round_trip(&plain);
            assert_eq!(model.id(), plain["id"].as_i64());
            assert_eq!(
                model.version(),
                plain["version"].as_i64().map(|v| i32::try_from(v).unwrap())
            );

            let input = sample_with_unknowns(T::NAME);
            let model: T = assert_round_trip(&input);
            let output = encode(&model);
            // The unknown keys are kept (and nothing else changed, see above).
            assert_eq!(output["requiresFreeDimension1"], true);
            assert_eq!(output["someFutureField"]["nested"][1], 2.5);
            assert!(output.as_object().unwrap().contains_key("someNullField"));
            assert_ne!(model, decode::<T>(&plain), "{}", T::NAME);
        }
    }
    each_model(&mut RoundTrip);
}

#[test]
fn unknown_keys_and_enum_values_land_where_expected() {
    let customer: Customer = decode(&sample_with_unknowns("Customer"));
    assert_eq!(
        customer.invoice_send_method,
        Some(InvoiceSendMethod::Unknown("CARRIER_PIGEON".to_owned()))
    );
    assert_eq!(customer.language, Some(Language::Norwegian));
    let keys: Vec<_> = customer.extra.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["requiresFreeDimension1", "someFutureField", "someNullField"]
    );

    let order: Order = decode(&sample_with_unknowns("Order"));
    assert_eq!(
        order.status,
        Some(OrderStatus::Unknown("ON_HOLD".to_owned()))
    );
    assert!(order.status.as_ref().unwrap().is_unknown());

    let project: Project = decode(&sample("Project"));
    assert_eq!(project.access_type, Some(AccessType::Write));
    assert_eq!(project.fixed_price, Some(150_000.0));

    let status: VoucherStatus = decode(&sample("VoucherStatus"));
    assert_eq!(
        status.r#type,
        Some(VoucherStatusType::SupplierInvoiceExternal)
    );
    assert_eq!(status.status, Some(VoucherStatusState::Waiting));
    assert_eq!(status.message, Some(VoucherStatusMessage::NeedsApproval));
}

#[test]
fn archive_relation_example_decodes_and_round_trips() {
    // The example payload from Tripletex's announcement of the document events.
    let delivery = json!({
        "value": {"id": 1, "version": 0, "url": null,
                  "document": {"id": 4, "version": 5, "url": "tripletex.no/v2/documentArchive/4",
                               "fileName": "file.png", "size": 136_955, "archiveDate": "2022-08-02",
                               "mimeType": "image/png"},
                  "archiveObjectId": 8, "archiveObjectType": "PROJECT"},
        "event": "archiverelation.update", "subscriptionId": 3, "id": 1
    });
    let relation: ArchiveRelation = decode(&delivery["value"]);
    assert_eq!(relation.id(), Some(1));
    assert_eq!(relation.version(), Some(0));
    assert_eq!(relation.url, None);
    assert_eq!(relation.archive_object_id, Some(8));
    assert_eq!(
        relation.archive_object_type,
        Some(ArchiveObjectType::Project)
    );
    let document = relation.document.as_ref().unwrap();
    assert_eq!(document.id, Some(4));
    assert_eq!(document.version, Some(5));
    assert_eq!(
        document.url.as_deref(),
        Some("tripletex.no/v2/documentArchive/4")
    );
    assert_eq!(document.file_name.as_deref(), Some("file.png"));
    assert_eq!(document.size, Some(136_955));
    assert_eq!(document.archive_date.as_deref(), Some("2022-08-02"));
    assert_eq!(document.mime_type.as_deref(), Some("image/png"));
    assert!(relation.extra.is_empty() && document.extra.is_empty());

    // `"url": null` decodes to `None`, which is not written back; everything
    // else comes back unchanged.
    let mut expected = delivery["value"].clone();
    expected.as_object_mut().unwrap().remove("url");
    let output = encode(&relation);
    assert_eq!(output, expected);
    assert_eq!(decode::<ArchiveRelation>(&output), relation);
    assert_round_trip::<ArchiveRelation>(&expected);
}

#[test]
fn expanded_reference_decodes_and_expands() {
    let order: Order = decode(&json!({
        "id": 2001,
        "customer": {"id": 1, "url": "tripletex.no/v2/customer/1", "name": "Acme",
                     "language": "EN", "accountManager": {"id": 17, "url": "tripletex.no/v2/employee/17"}},
        "currency": {"id": 1, "url": "tripletex.no/v2/currency/1"},
        "project": {"name": "Office move"}
    }));
    let reference = order.customer.clone().unwrap();
    assert_eq!(reference.id, Some(1));
    assert_eq!(reference.url.as_deref(), Some("tripletex.no/v2/customer/1"));
    assert!(reference.is_expanded());
    let customer: Customer = reference.expand().unwrap();
    assert_eq!(customer.id(), Some(1));
    assert_eq!(customer.url.as_deref(), Some("tripletex.no/v2/customer/1"));
    assert_eq!(customer.name.as_deref(), Some("Acme"));
    assert_eq!(customer.language, Some(Language::English));
    assert_eq!(
        customer.account_manager,
        Some(Ref::stub(17, "tripletex.no/v2/employee/17"))
    );
    assert!(customer.extra.is_empty());

    let currency = order.currency.clone().unwrap();
    assert_eq!(currency, Ref::stub(1, "tripletex.no/v2/currency/1"));
    assert!(!currency.is_expanded());

    // `project(name)` gives the name only; the id is not implied.
    let project: Project = order.project.as_ref().unwrap().expand().unwrap();
    assert_eq!(project.id, None);
    assert_eq!(project.name.as_deref(), Some("Office move"));

    // Expanded order lines decode through the typed helper.
    let order: Order = decode(&sample("Order"));
    let lines = order.order_lines_expanded().unwrap();
    assert_eq!(lines[0].id, Some(1_192_712));
    assert_eq!(lines[0].count, None);
    assert_eq!(lines[1].count, Some(2.0));
    assert_eq!(lines[1].amount_excluding_vat_currency, Some(498.0));
}

#[test]
fn filtered_payload_decodes_for_every_model() {
    struct Filtered;
    impl Visit for Filtered {
        fn visit<T: PayloadModel>(&mut self) {
            let input = json!({"id": 1, "version": 2});
            let model: T = assert_round_trip(&input);
            assert_eq!(model.id(), Some(1), "{}", T::NAME);
            assert_eq!(model.version(), Some(2), "{}", T::NAME);
            assert_eq!(encode(&T::default()), json!({}), "{}", T::NAME);
            assert_round_trip::<T>(&json!({}));
        }
    }
    each_model(&mut Filtered);
}

#[test]
fn null_values_decode_for_every_model() {
    struct Nulls;
    impl Visit for Nulls {
        fn visit<T: PayloadModel>(&mut self) {
            // Every key of the sample but `id` set to null. Since every sample key
            // is a modeled field, all of them become `None` and none lands in `extra`.
            let mut input = sample(T::NAME);
            let id = input["id"].clone();
            for (key, value) in input.as_object_mut().unwrap() {
                if key != "id" {
                    *value = Value::Null;
                }
            }
            let model: T = decode(&input);
            assert_eq!(model.id(), id.as_i64());
            assert_eq!(model.version(), None);
            assert_eq!(encode(&model), json!({"id": id}), "{}", T::NAME);
        }
    }
    each_model(&mut Nulls);

    // Nulls inside references and nested objects decode too.
    let relation: ArchiveRelation = decode(&json!({
        "id": 1, "url": null, "document": {"id": 4, "url": null, "fileName": null}
    }));
    assert_eq!(relation.document.unwrap().file_name, None);
    let order: Order = decode(&json!({"customer": {"id": 1, "url": null}, "orderLines": null}));
    assert_eq!(order.customer, Some(Ref::id(1)));
    assert_eq!(order.order_lines, None);
}

#[test]
fn integer_amounts_decode_into_f64_fields() {
    // Tripletex may write a whole amount as `249`; it decodes, and is written
    // back as `249.0` (the same number, a different JSON spelling).
    let product: Product = decode(&json!({"priceExcludingVatCurrency": 249, "weight": 0}));
    assert_eq!(product.price_excluding_vat_currency, Some(249.0));
    assert_eq!(
        encode(&product),
        json!({"priceExcludingVatCurrency": 249.0, "weight": 0.0})
    );
}

// ---------------------------------------------------------------------------
// Schema validation

/// Where `instance` breaks the official schema of `model` (the committed,
/// trimmed OpenAPI document of `test-support`).
///
/// The OpenAPI 3.0 keywords need no rewriting: `nullable` does not occur in
/// the document (checked below), so a `null` would be rejected, but the
/// models never serialize `None` as `null`; `readOnly` and `format` are
/// annotations in JSON Schema.
fn validation_errors(model: &str, instance: &Value) -> Vec<String> {
    reference::schema_errors(model, instance)
}

#[test]
fn openapi_document_has_no_nullable() {
    let text = serde_json::to_string(reference::openapi()).unwrap();
    assert!(
        !text.contains("\"nullable\""),
        "the OpenAPI document now uses `nullable`; translate it to `type: [.., \"null\"]` for the validator"
    );
}

#[test]
fn serialized_samples_validate_against_the_openapi_schemas() {
    struct Validate {
        checked: Vec<&'static str>,
    }
    impl Visit for Validate {
        fn visit<T: PayloadModel>(&mut self) {
            if !WITH_SCHEMA.contains(&T::NAME) {
                return;
            }
            let model: T = decode(&sample(T::NAME));
            let instance = encode(&model);

            // Every key we write is a property of the schema (the schemas do not
            // forbid extra keys, so check it here).
            let properties = reference::schema(T::NAME)["properties"]
                .as_object()
                .unwrap();
            for key in instance.as_object().unwrap().keys() {
                assert!(
                    properties.contains_key(key),
                    "{}.{key} is not in the schema",
                    T::NAME
                );
            }

            let errors = validation_errors(T::NAME, &instance);
            assert!(errors.is_empty(), "{}: {errors:#?}", T::NAME);
            self.checked.push(T::NAME);
        }
    }
    let mut visitor = Validate {
        checked: Vec::new(),
    };
    each_model(&mut visitor);
    assert_eq!(visitor.checked, WITH_SCHEMA);
}

#[test]
fn schema_validation_is_not_vacuous() {
    let mut bad: Map<String, Value> = Map::new();
    bad.insert("name".to_owned(), json!(5));
    assert!(!validation_errors("Product", &Value::Object(bad)).is_empty());
    // An unknown enum value survives our round trip but is not in the schema.
    let order = encode(&decode::<Order>(&sample_with_unknowns("Order")));
    assert!(!validation_errors("Order", &order).is_empty());
    // A nested reference is checked against the referenced schema.
    let customer = json!({"accountManager": {"id": "seventeen"}});
    assert!(!validation_errors("Customer", &customer).is_empty());
}

/// What the `Value` path makes of a body: the typed event and the version
/// read from the raw value.
fn decode_through_value(body: &[u8]) -> Result<(TripletexEvent, Option<i64>), DecodeError> {
    let envelope = WebhookEnvelope::from_slice(body)?;
    let version = envelope.object_version();
    Ok((envelope.decode()?, version))
}

/// Both decoding paths give the same event, version and kind of error.
fn assert_paths_agree(body: &[u8]) {
    let direct = TripletexEvent::from_slice(body).map(|event| {
        let version = event.object_version();
        (event, version)
    });
    let text = String::from_utf8_lossy(body);
    match (direct, decode_through_value(body)) {
        (Ok(direct), Ok(through_value)) => assert_eq!(direct, through_value, "{text}"),
        (Err(direct), Err(through_value)) => assert_eq!(
            std::mem::discriminant(&direct),
            std::mem::discriminant(&through_value),
            "{text}: {direct} / {through_value}"
        ),
        (direct, through_value) => panic!("{text}: {direct:?} / {through_value:?}"),
    }
}

fn envelope(event: &EventType, value: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"subscriptionId": 3, "event": event, "id": 7, "value": value}))
        .unwrap()
}

#[test]
fn decoding_straight_from_the_body_equals_decoding_through_a_value() {
    let unknown = [
        "timesheetEntry.create".parse::<EventType>().unwrap(),
        "product.archive".parse().unwrap(),
        "mystery.delete".parse().unwrap(),
    ];
    for event in known_event_types().iter().chain(&unknown) {
        let model = event.subject().payload_model().unwrap_or("Product");
        let mut values = vec![
            sample(model),
            sample_with_unknowns(model),
            json!({"id": 7, "version": 2}),
            json!({"id": 7}),
            json!({}),
            json!({"version": "x"}),
            json!({"version": 3.5}),
            json!({"version": 4_294_967_296_i64}),
            json!(42),
            json!([]),
            Value::Null,
        ];
        let mut nulls = sample(model);
        for value in nulls.as_object_mut().unwrap().values_mut() {
            *value = Value::Null;
        }
        values.push(nulls);
        for value in &values {
            assert_paths_agree(&envelope(event, value));
        }
        // `value` left out altogether.
        assert_paths_agree(
            &serde_json::to_vec(&json!({"subscriptionId": 3, "event": event, "id": 7})).unwrap(),
        );
    }
    for body in [
        &b"not json"[..],
        b"[]",
        br#"{"event":"product.create","id":1}"#,
        br#"{"subscriptionId":1,"event":"product","id":1}"#,
        br#"{"subscriptionId":1,"event":"product.create","id":"7","value":{}}"#,
        br#"{"subscriptionId":1,"event":"product.create","id":7,"value":{"id":7},"extra":true}"#,
        br#"{"value":{"id":7,"version":1},"id":7,"event":"product.update","subscriptionId":1}"#,
    ] {
        assert_paths_agree(body);
    }
}
