//! Every event of the catalogue reaches a subscribed receiver: typed, with the
//! subscription's `fields` applied exactly as `GET` applies them, and deletes
//! with only the id. The ten resources are changed through their object
//! endpoints; the events without one through `POST /_emulator/events`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_types::{EventPayload, ObjectChange};

use crate::app::{App, Handled, Log, route};
use crate::tripletex::{Backend, Tripletex};

/// Emits an event without an object endpoint through the emulator handle;
/// the receiver's subscription takes it.
async fn emit(t: &Tripletex, event: &str, id: i64, value: Value) {
    let emitted = t.emulator.emit(event, id, value).await.unwrap();
    assert!(emitted.deliveries > 0, "{emitted:?}");
}

on_both_backends!(run);

const SECRET: &str = "every-event-shared-secret";

/// The `fields` filter each subject's subscriptions ask for: a few fields,
/// and reference expansion for contacts and orders.
fn fields(subject: &str) -> &'static str {
    match subject {
        "product" | "customer" | "supplier" => "id,version,name",
        "employee" => "id,version,firstName,lastName",
        "contact" => "id,version,firstName,customer(name)",
        "project" => "id,version,name,startDate",
        "order" => "id,version,orderDate,customer(name)",
        "account" => "id,version,number,name",
        "voucher" => "id,version,date,description",
        "invoice" => "id,version,invoiceDate,invoiceDueDate",
        "notification" => "id,title,type",
        "voucherstatus" => "id,version,status",
        "archiverelation" => "id,version,archiveObjectType",
        "closeGroup" => "id,version,date",
        other => panic!("no fields for subject {other}"),
    }
}

/// The top-level names of a `fields` filter: `a,b(c,d),e` gives a, b, e.
fn top_level(fields: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let (mut depth, mut current) = (0, String::new());
    for c in fields.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                names.insert(std::mem::take(&mut current));
            }
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.insert(current);
    names
}

/// What the handler must see for one event.
struct Expected {
    id: i64,
    /// The payload (`null` for deletes).
    value: Value,
}

/// The events expected so far, by name.
#[derive(Default)]
struct Expectations(BTreeMap<String, Expected>);

impl Expectations {
    /// The object as `GET /v2/{path}/{id}?fields=` shows it now.
    async fn object(&mut self, t: &Tripletex, event: &str, path: &str, id: i64) {
        let subject = event.split('.').next().unwrap();
        let got = t
            .call(
                Method::GET,
                &format!("/v2/{path}/{id}?fields={}", fields(subject)),
                None,
            )
            .await;
        self.add(event, id, got["value"].clone());
    }

    fn add(&mut self, event: &str, id: i64, value: Value) {
        let previous = self.0.insert(event.to_owned(), Expected { id, value });
        assert!(previous.is_none(), "{event} expected twice");
    }

    fn names(&self) -> BTreeSet<String> {
        self.0.keys().cloned().collect()
    }
}

/// Waits until every expected event was handled.
async fn handled(log: &Log, expected: &Expectations) {
    let names = expected.names();
    log.wait_until(&format!("the events {names:?}"), |all| {
        let seen: BTreeSet<String> = all.iter().map(|h| h.event.clone()).collect();
        names.is_subset(&seen)
    })
    .await;
}

async fn run(backend: Backend) {
    let t = Tripletex::start(backend).await;
    let log = Log::default();
    let config = WebhookConfig::builder()
        .header_auth("X-Api-Key", "every-event-key")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let app = App::start(route("/tripletex", &config, &log)).await;

    // One subscription per catalogue event, each with its subject's fields.
    let catalogue = t.client.events().list().await.unwrap();
    let events: Vec<_> = catalogue.event_types().cloned().collect();
    // The catalogue is Tripletex's documented events (committed from its guide).
    let mut names: Vec<String> = events.iter().map(ToString::to_string).collect();
    let mut documented: Vec<String> = test_support::reference::events()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    names.sort();
    documented.sort();
    assert_eq!(names, documented, "the catalogue");
    let desired = events.iter().map(|event| {
        NewSubscription::new(event.clone(), app.url("/tripletex"))
            .with_fields(fields(&event.subject().to_string()))
            .with_auth_header("X-Api-Key", "every-event-key")
            .with_hmac_secret(SECRET)
    });
    let report = t
        .client
        .subscriptions()
        .reconcile(desired)
        .apply()
        .await
        .unwrap();
    let subscriptions: BTreeMap<String, i64> = report
        .created
        .iter()
        .map(|s| (s.event.as_ref().unwrap().to_string(), s.id.unwrap()))
        .collect();
    assert_eq!(subscriptions.len(), 35);

    let mut expected = Expectations::default();
    let id = |object: &Value| object["id"].as_i64().unwrap();

    // Creates (an invoice is `invoice.charged`), and the emulated events that
    // announce something new.
    let customer = id(&t.create("customer", json!({"name": "Acme AS"})).await);
    let employee = id(&t
        .create(
            "employee",
            json!({"firstName": "Kari", "lastName": "Nordmann"}),
        )
        .await);
    let supplier = id(&t.create("supplier", json!({"name": "Beans AS"})).await);
    let product = id(&t.create("product", json!({"name": "Espresso"})).await);
    let contact = id(&t
        .create(
            "contact",
            json!({"firstName": "Ola", "lastName": "Hansen", "customer": {"id": customer}}),
        )
        .await);
    let project = id(&t
        .create(
            "project",
            json!({"name": "Rollout", "projectManager": {"id": employee},
                   "startDate": "2026-01-05", "isInternal": false}),
        )
        .await);
    let order = id(&t
        .create(
            "order",
            json!({"customer": {"id": customer}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"}),
        )
        .await);
    let account = id(&t
        .create("ledger/account", json!({"number": 3000, "name": "Sales"}))
        .await);
    let voucher = id(&t
        .create(
            "ledger/voucher",
            json!({"date": "2026-03-10", "description": "Opening balance", "postings": []}),
        )
        .await);
    let invoice = id(&t
        .create(
            "invoice",
            json!({"invoiceDate": "2026-03-10", "invoiceDueDate": "2026-03-24", "orders": [{"id": order}]}),
        )
        .await);
    let resources = [
        ("customer", "customer", customer),
        ("employee", "employee", employee),
        ("supplier", "supplier", supplier),
        ("product", "product", product),
        ("contact", "contact", contact),
        ("project", "project", project),
        ("order", "order", order),
        ("account", "ledger/account", account),
        ("voucher", "ledger/voucher", voucher),
    ];
    for (subject, path, id) in resources {
        expected
            .object(&t, &format!("{subject}.create"), path, id)
            .await;
    }
    expected
        .object(&t, "invoice.charged", "invoice", invoice)
        .await;
    emit(
        &t,
        "notification.sent",
        9701,
        json!({"id": 9701, "date": "2026-03-25", "title": "Invoice 10042 is overdue",
               "message": "It was due on 2026-03-24.", "type": "INVOICE_OVERDUE", "category": "INVOICE"}),
    )
    .await;
    expected.add(
        "notification.sent",
        9701,
        json!({"id": 9701, "title": "Invoice 10042 is overdue", "type": "INVOICE_OVERDUE"}),
    );
    emit(
        &t,
        "voucherstatus.ready",
        9801,
        json!({"id": 9801, "version": 0, "voucher": {"id": voucher}, "type": "TRIPLETEX",
               "status": "WAITING", "timestamp": "2026-03-10T09:15:00", "message": "NONE"}),
    )
    .await;
    expected.add(
        "voucherstatus.ready",
        9801,
        json!({"id": 9801, "version": 0, "status": "WAITING"}),
    );
    emit(
        &t,
        "archiverelation.create",
        9851,
        json!({"id": 9851, "version": 0, "archiveObjectId": project, "archiveObjectType": "PROJECT"}),
    )
    .await;
    expected.add(
        "archiverelation.create",
        9851,
        json!({"id": 9851, "version": 0, "archiveObjectType": "PROJECT"}),
    );
    emit(
        &t,
        "closeGroup.create",
        9951,
        json!({"id": 9951, "version": 0, "date": "2026-03-24", "postings": [{"id": 1}, {"id": 2}]}),
    )
    .await;
    expected.add(
        "closeGroup.create",
        9951,
        json!({"id": 9951, "version": 0, "date": "2026-03-24"}),
    );
    handled(&log, &expected).await;

    // Updates, one field each that the subscription's fields include.
    let partial_bodies = [
        ("customer", json!({"name": "Acme Norge AS"})),
        ("employee", json!({"lastName": "Nordmann-Hansen"})),
        ("supplier", json!({"name": "Beans Norge AS"})),
        ("product", json!({"name": "Espresso 1 kg"})),
        ("contact", json!({"firstName": "Olav"})),
        ("project", json!({"name": "Rollout, phase 2"})),
        ("order", json!({"orderDate": "2026-03-03"})),
        ("account", json!({"name": "Sales revenue"})),
        ("voucher", json!({"description": "Opening balance 2026"})),
    ];
    for ((subject, path, id), (subject_again, body)) in resources.iter().zip(partial_bodies) {
        assert_eq!(*subject, subject_again);
        let object = t.update(path, *id, body).await;
        assert_eq!(object["version"], 1);
        expected
            .object(&t, &format!("{subject}.update"), path, *id)
            .await;
    }
    emit(
        &t,
        "archiverelation.update",
        9851,
        json!({"id": 9851, "version": 1, "archiveObjectId": customer, "archiveObjectType": "CUSTOMER"}),
    )
    .await;
    expected.add(
        "archiverelation.update",
        9851,
        json!({"id": 9851, "version": 1, "archiveObjectType": "CUSTOMER"}),
    );
    handled(&log, &expected).await;

    // Deletes: only the id. Tripletex deletes contacts only in bulk, and
    // employees not through the API at all: the emulator API announces that.
    for (subject, path, id) in resources.iter().rev() {
        match *path {
            "contact" => {
                let ids = format!("/v2/contact/list?ids={id}");
                t.call(Method::DELETE, &ids, None).await;
            }
            "employee" => emit(&t, "employee.delete", *id, Value::Null).await,
            _ => t.delete(path, *id).await,
        }
        expected.add(&format!("{subject}.delete"), *id, Value::Null);
    }
    emit(&t, "archiverelation.delete", 9851, Value::Null).await;
    expected.add("archiverelation.delete", 9851, Value::Null);
    emit(&t, "closeGroup.delete", 9951, Value::Null).await;
    expected.add("closeGroup.delete", 9951, Value::Null);
    handled(&log, &expected).await;

    // Every catalogue event, each handled once, as expected.
    let all = log.all();
    let catalogue_names: BTreeSet<String> = events.iter().map(ToString::to_string).collect();
    assert_eq!(expected.names(), catalogue_names);
    assert_eq!(
        all.len(),
        35,
        "one handled delivery per event: {:?}",
        all.iter().map(|h| &h.event).collect::<Vec<_>>()
    );
    for handled in &all {
        check(
            handled,
            &expected.0[&handled.event],
            subscriptions[&handled.event],
        );
    }
    let counters = config.snapshot();
    assert_eq!(
        (counters.accepted, counters.unauthorized, counters.malformed),
        (35, 0, 0),
        "{counters:?}"
    );
}

/// One handled delivery against what was expected for its event.
fn check(handled: &Handled, expected: &Expected, subscription: i64) {
    let event = &handled.event;
    assert_eq!(handled.id, expected.id, "{event}: the id");
    assert_eq!(handled.subscription_id, subscription, "{event}");
    let (subject, verb, object) = typed(&handled.payload);
    assert_eq!(
        format!("{subject}.{verb}"),
        *event,
        "{event}: the typed variant"
    );
    assert_eq!(handled.value, expected.value, "{event}: the payload");
    match object {
        None => assert!(handled.is_delete() && handled.value.is_null(), "{event}"),
        Some(object) => {
            // `fields` applied: exactly the asked-for keys, and the typed model
            // holds all of them (re-serializing it gives the payload back).
            let keys: BTreeSet<String> =
                handled.value.as_object().unwrap().keys().cloned().collect();
            assert_eq!(keys, top_level(fields(subject)), "{event}: the fields");
            assert_eq!(object, handled.value, "{event}: the typed model");
        }
    }
}

/// The subject, verb and object (re-serialized) of a typed payload.
fn typed(payload: &EventPayload) -> (&'static str, &'static str, Option<Value>) {
    fn json(object: &impl Serialize) -> Value {
        serde_json::to_value(object).unwrap()
    }
    fn change<T: Serialize>(
        subject: &'static str,
        change: &ObjectChange<T>,
    ) -> (&'static str, &'static str, Option<Value>) {
        match change {
            ObjectChange::Created(object) => (subject, "create", Some(json(object))),
            ObjectChange::Updated(object) => (subject, "update", Some(json(object))),
            ObjectChange::Deleted => (subject, "delete", None),
        }
    }
    match payload {
        EventPayload::Product(c) => change("product", c),
        EventPayload::Order(c) => change("order", c),
        EventPayload::Customer(c) => change("customer", c),
        EventPayload::Supplier(c) => change("supplier", c),
        EventPayload::Employee(c) => change("employee", c),
        EventPayload::Contact(c) => change("contact", c),
        EventPayload::Project(c) => change("project", c),
        EventPayload::Account(c) => change("account", c),
        EventPayload::Voucher(c) => change("voucher", c),
        EventPayload::ArchiveRelation(c) => change("archiverelation", c),
        EventPayload::CloseGroup(c) => change("closeGroup", c),
        EventPayload::InvoiceCharged(invoice) => ("invoice", "charged", Some(json(invoice))),
        EventPayload::NotificationSent(n) => ("notification", "sent", Some(json(n))),
        EventPayload::VoucherStatusReady(v) => ("voucherstatus", "ready", Some(json(v))),
        EventPayload::Unknown(raw) => panic!("an untyped payload: {raw}"),
    }
}
