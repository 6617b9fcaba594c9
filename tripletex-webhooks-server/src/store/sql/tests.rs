//! Batch writes ([`Store::write_objects`]): one transaction per batch, with
//! the sub-objects created with their parents.

use serde_json::{Map, Value, json};
use tripletex_webhooks_types::{EventType, NewSubscription};

use crate::config::Durability;
use crate::store::outbox::{DeliveryFilter, Outbox};
use crate::store::{
    Company, Fields, NewItem, ObjectWrite, SqliteStore, Store, StoreError, WriteContext, WriteKind,
};

pub(super) const NOW: i64 = 1_700_000_000_000;

/// A store with one company subscribed to `events`.
pub(super) async fn store_with(events: &[&str]) -> (SqliteStore, Company) {
    let store = SqliteStore::connect("sqlite::memory:", Durability::Process, "test/v2")
        .await
        .unwrap();
    let company = store.ensure_company("digest").await.unwrap();
    let subscriptions = events
        .iter()
        .map(|event| NewSubscription::new(event.parse().unwrap(), "https://example.com/hook"))
        .collect();
    store
        .insert_subscriptions(company, NOW, subscriptions)
        .await
        .unwrap();
    (store, company)
}

pub(super) fn ctx(company: Company) -> WriteContext<'static> {
    WriteContext {
        company,
        now_ms: NOW,
        request_id: Some("request-1"),
    }
}

fn object(value: Value) -> Map<String, Value> {
    serde_json::from_value(value).unwrap()
}

fn events(names: &[&str]) -> Vec<EventType> {
    names.iter().map(|name| name.parse().unwrap()).collect()
}

fn line(index: usize, description: &str) -> NewItem {
    NewItem {
        resource: "order/orderline",
        field: "orderLines".to_owned(),
        index,
        back: "order",
        body: object(json!({"description": description})),
    }
}

/// An order created with new lines at `indexes` of its `orderLines`, which
/// already lists `listed`.
pub(super) fn order_with_lines(listed: Value, indexes: &[usize]) -> ObjectWrite {
    ObjectWrite {
        resource: "order",
        kind: WriteKind::Create(Fields {
            values: Map::from_iter([("orderLines".to_owned(), listed)]),
            items: indexes
                .iter()
                .map(|i| line(*i, &format!("line {i}")))
                .collect(),
        }),
        emits: events(&["order.create"]),
    }
}

fn update(id: i64, expected_version: Option<i32>, name: &str) -> ObjectWrite {
    ObjectWrite {
        resource: "product",
        kind: WriteKind::Update {
            id,
            expected_version,
            fields: Fields {
                values: object(json!({"name": name})),
                items: Vec::new(),
            },
        },
        emits: events(&["product.update"]),
    }
}

fn create_product(name: &str) -> ObjectWrite {
    ObjectWrite {
        resource: "product",
        kind: WriteKind::Create(Fields {
            values: object(json!({"name": name})),
            items: Vec::new(),
        }),
        emits: events(&["product.create"]),
    }
}

async fn total(store: &SqliteStore, company: Company, resource: &str) -> i64 {
    store
        .list_objects(company.id, resource, 0, 100)
        .await
        .unwrap()
        .total
}

async fn messages(store: &SqliteStore, company: Company) -> Vec<(String, i64, Option<i32>)> {
    store
        .deliveries(company.id, &DeliveryFilter::default(), 0, 1000)
        .await
        .unwrap()
        .values
        .into_iter()
        .map(|d| (d.event, d.object_id, d.object_version))
        .collect()
}

#[tokio::test]
async fn a_create_stores_its_items_in_their_places_pointing_back_at_it() {
    let (store, company) = store_with(&["order.create"]).await;
    let listed = json!([{"id": 7, "url": "test/v2/order/orderline/7"}]);
    let records = store
        .write_objects(ctx(company), vec![order_with_lines(listed, &[0, 2])])
        .await
        .unwrap();
    let order = &records[0];
    let lines = order.body["orderLines"].as_array().unwrap();
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids[1], 7,
        "the listed line keeps its place between the new ones"
    );
    for (index, id) in [(0, ids[0]), (2, ids[2])] {
        let line = store
            .get_object(company.id, "order/orderline", id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line.body["description"], format!("line {index}"));
        assert_eq!(
            line.body["order"],
            json!({"id": order.id, "url": format!("test/v2/order/{}", order.id)})
        );
        assert_eq!(lines[index]["url"], format!("test/v2/order/orderline/{id}"));
        assert_eq!((line.version, line.changes.len()), (0, 1), "just created");
    }
    assert_eq!(
        messages(&store, company).await,
        [("order.create".to_owned(), order.id, Some(0))],
        "the order's event only"
    );
}

#[tokio::test]
async fn a_batch_whose_last_write_fails_stores_nothing_and_emits_nothing() {
    let (store, company) = store_with(&["order.create", "product.create"]).await;
    let batch = vec![
        order_with_lines(json!([]), &[0, 1]),
        create_product("Espresso"),
        update(999_999, None, "missing"),
    ];
    let error = store.write_objects(ctx(company), batch).await.unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { id: 999_999, .. }),
        "{error}"
    );
    for resource in ["order", "order/orderline", "product"] {
        assert_eq!(total(&store, company, resource).await, 0, "{resource}");
    }
    assert!(messages(&store, company).await.is_empty());
}

#[tokio::test]
async fn a_write_made_stale_by_an_earlier_one_in_its_batch_undoes_the_batch() {
    let (store, company) = store_with(&["product.update"]).await;
    let id = store
        .write_objects(ctx(company), vec![create_product("Espresso")])
        .await
        .unwrap()[0]
        .id;
    // The first update moves the product to version 1, so the second's 0 is stale.
    let batch = vec![
        update(id, Some(0), "Lungo"),
        update(id, Some(0), "Ristretto"),
    ];
    let error = store.write_objects(ctx(company), batch).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Conflict {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "{error}"
    );
    let product = store
        .get_object(company.id, "product", id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (product.version, &product.body["name"]),
        (0, &json!("Espresso"))
    );
    assert!(messages(&store, company).await.is_empty());
}

#[tokio::test]
async fn each_write_of_a_batch_emits_its_own_events() {
    let (store, company) = store_with(&["product.create", "product.delete"]).await;
    let created = store
        .write_objects(
            ctx(company),
            vec![create_product("Espresso"), create_product("Lungo")],
        )
        .await
        .unwrap();
    let delete = ObjectWrite {
        resource: "product",
        kind: WriteKind::Delete { id: created[0].id },
        emits: events(&["product.delete"]),
    };
    let deleted = store
        .write_objects(ctx(company), vec![delete])
        .await
        .unwrap();
    assert_eq!(deleted[0].version, 1);
    assert_eq!(total(&store, company, "product").await, 1);
    let mut queued = messages(&store, company).await;
    queued.sort();
    assert_eq!(
        queued,
        [
            ("product.create".to_owned(), created[0].id, Some(0)),
            ("product.create".to_owned(), created[1].id, Some(0)),
            ("product.delete".to_owned(), created[0].id, Some(1)),
        ]
    );
}

#[tokio::test]
async fn sessions_are_found_after_a_restart_and_gone_once_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let open = || SqliteStore::connect(&url, Durability::Process, "test/v2");
    let expires = time::macros::date!(2030 - 01 - 01);
    let store = open().await.unwrap();
    let company = store.ensure_company("digest").await.unwrap();
    let created = store
        .create_session("token", company, expires, NOW)
        .await
        .unwrap();
    assert_eq!(
        store.find_session("token").await.unwrap(),
        Some(created.clone())
    );
    drop(store);

    // Read from the file by a new process, then deleted there.
    let store = open().await.unwrap();
    assert_eq!(store.find_session("token").await.unwrap(), Some(created));
    assert!(store.delete_session("token").await.unwrap());
    assert_eq!(store.find_session("token").await.unwrap(), None);
    assert!(!store.delete_session("token").await.unwrap());
    assert_eq!(store.find_session("other").await.unwrap(), None);
}
