//! Writes as the official document has them: an order created with new
//! order lines and a voucher with new postings (balanced, or refused), the
//! bulk `/list` endpoints (all or nothing, one event per object), and no
//! operation the document lacks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::receiver::Receiver;
use common::{Harness, assert_api_error, json};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::{WITHIN, reference};

async fn get(h: &Harness, path: &str) -> Value {
    let (status, body) = json(h.request(Method::GET, path).send().await.unwrap()).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Subscribes to `event` (to an address nothing listens on: only the
/// queued messages are counted).
async fn subscribe(h: &Harness, event: &str) -> i64 {
    let (status, body) = h
        .send(
            Method::POST,
            "/event/subscription",
            &json!({"event": event, "targetUrl": "https://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["value"]["id"].as_i64().unwrap()
}

/// The object ids of the messages queued for a subscription.
async fn queued(h: &Harness, subscription: i64) -> Vec<i64> {
    let response = h
        .emulator(
            Method::GET,
            &format!("/_emulator/deliveries?subscriptionId={subscription}"),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<i64> = body["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["objectId"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn order(lines: Value) -> Value {
    let mut order =
        json!({"customer": {"id": 1}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"});
    order["orderLines"] = lines;
    order
}

#[tokio::test]
async fn an_order_is_created_with_its_new_order_lines() {
    let h = Harness::start().await;
    let created_events = subscribe(&h, "order.create").await;
    let updated_events = subscribe(&h, "order.update").await;
    let (status, created) = h
        .send(
            Method::POST,
            "/order",
            &order(json!([
                {"description": "Beans", "count": 2, "unitPriceExcludingVatCurrency": 80},
                {"description": "Filters", "count": 1, "amountExcludingVatCurrency": 999},
            ])),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let order_id = created["value"]["id"].as_i64().unwrap();
    let lines = created["value"]["orderLines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["url"]
            .as_str()
            .unwrap()
            .contains("/order/orderline/"),
        "{lines:?}"
    );
    let expanded = get(&h, &format!("/order/{order_id}?fields=orderLines(*)")).await;
    let first = &expanded["value"]["orderLines"][0];
    assert_eq!(first["description"], "Beans");
    assert_eq!(first["count"], 2);
    assert_eq!(first["order"]["id"], order_id, "points back to its order");
    let line_fields: Vec<&String> = first.as_object().unwrap().keys().collect();
    let model: Vec<&String> = reference::schema("OrderLine")["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "changes")
        .collect();
    assert_eq!(line_fields, model, "the whole OrderLine model");
    // Read-only: not taken from the request.
    assert_eq!(
        expanded["value"]["orderLines"][1]["amountExcludingVatCurrency"],
        0
    );
    // One event: the order's creation.
    assert_eq!(queued(&h, created_events).await, [order_id]);
    assert!(queued(&h, updated_events).await.is_empty());
    // An existing line by reference and a new one, on update too.
    let existing = lines[0]["id"].as_i64().unwrap();
    let (status, updated) = h
        .send(
            Method::PUT,
            &format!("/order/{order_id}?fields=orderLines(description)"),
            &json!({"orderLines": [{"id": existing}, {"description": "Cups"}]}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["value"]["orderLines"],
        json!([{"description": "Beans"}, {"description": "Cups"}])
    );
}

#[tokio::test]
async fn an_order_and_its_new_lines_are_stored_together_and_its_webhook_equals_get() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let fields = "*,orderLines(*)";
    let (status, body) = h
        .send(
            Method::POST,
            "/event/subscription",
            &json!({"event": "order.create", "targetUrl": receiver.url("/hook"), "fields": fields}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, created) = h
        .send(
            Method::POST,
            "/order",
            &order(json!([{"description": "Beans"}, {"description": "Filters"}])),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let order_id = created["value"]["id"].as_i64().unwrap();
    let got = get(&h, &format!("/order/{order_id}?fields={fields}")).await;
    let lines = got["value"]["orderLines"].as_array().unwrap();
    let described: Vec<&Value> = lines.iter().map(|l| &l["description"]).collect();
    assert_eq!(described, [&json!("Beans"), &json!("Filters")], "in order");
    for line in lines {
        assert!(line["id"].as_i64().is_some_and(|id| id > 0), "{line}");
        assert_eq!(line["version"], 0, "created, not changed after: {line}");
        assert_eq!(line["order"]["id"], order_id, "points back: {line}");
    }
    let callbacks = receiver.wait_for(1, WITHIN).await;
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].json()["value"], got["value"]);
}

#[tokio::test]
async fn new_order_lines_are_mapped_onto_their_model() {
    let h = Harness::start().await;
    let response = h
        .request(Method::POST, "/order")
        .json(&order(
            json!([{"description": "x"}, {"count": "two", "colour": "red"}]),
        ))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 16000).await;
    let paths: Vec<&str> = error["validationMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["orderLines[1].count", "orderLines[1].colour"]);
    assert_eq!(get(&h, "/order").await["fullResultSize"], 0);
}

fn voucher(amounts: &[f64]) -> Value {
    let postings: Vec<Value> = amounts
        .iter()
        .enumerate()
        .map(|(row, amount)| json!({"row": row + 1, "account": {"id": 1}, "amountGross": amount, "amountGrossCurrency": amount}))
        .collect();
    json!({"date": "2026-03-10", "description": "Sale", "postings": postings})
}

#[tokio::test]
async fn a_voucher_is_created_with_balanced_postings_and_refused_with_unbalanced_ones() {
    let h = Harness::start().await;
    let (status, created) = h
        .send(
            Method::POST,
            "/ledger/voucher",
            &voucher(&[125.0, -100.0, -25.0]),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["value"]["id"].as_i64().unwrap();
    let expanded = get(
        &h,
        &format!("/ledger/voucher/{id}?fields=postings(amountGross,voucher)"),
    )
    .await;
    let postings = expanded["value"]["postings"].as_array().unwrap();
    assert_eq!(postings.len(), 3);
    assert_eq!(postings[0]["amountGross"], 125.0);
    assert_eq!(postings[2]["voucher"]["id"], id);

    let response = h
        .request(Method::POST, "/ledger/voucher")
        .json(&voucher(&[125.0, -100.0]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(error["validationMessages"][0]["field"], "postings");
    assert!(
        error["validationMessages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("25"),
        "{error}"
    );
    assert_eq!(get(&h, "/ledger/voucher").await["fullResultSize"], 1);
}

#[tokio::test]
async fn bulk_creates_and_updates_write_all_or_none_with_one_event_each() {
    let h = Harness::start().await;
    let created_events = subscribe(&h, "product.create").await;
    let updated_events = subscribe(&h, "product.update").await;
    // One bad object: nothing is written.
    let response = h
        .request(Method::POST, "/product/list")
        .json(&json!([{"name": "Espresso"}, {"name": "Lungo", "colour": "red"}]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 16000).await;
    assert_eq!(error["validationMessages"][0]["path"], "[1].colour");
    assert_eq!(get(&h, "/product").await["fullResultSize"], 0);

    let (status, created) = h
        .send(
            Method::POST,
            "/product/list?fields=id,name",
            &json!([{"name": "Espresso"}, {"name": "Lungo"}]),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["fullResultSize"], 2);
    let ids: Vec<i64> = created["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(created["values"][1]["name"], "Lungo");
    assert_eq!(queued(&h, created_events).await, ids);

    // Updates need ids; then each object gets its own event.
    let response = h
        .request(Method::PUT, "/product/list")
        .json(&json!([{"id": ids[0], "name": "Ristretto"}, {"name": "no id"}]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(error["validationMessages"][0]["path"], "[1].id");
    let (status, updated) = h.send(Method::PUT,
        "/product/list",
        &json!([{"id": ids[0], "version": 0, "name": "Ristretto"}, {"id": ids[1], "number": "2"}]),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["values"][0]["name"], "Ristretto");
    assert_eq!(updated["values"][1]["version"], 1);
    assert_eq!(queued(&h, updated_events).await, ids);
}

#[tokio::test]
async fn a_bulk_update_the_store_refuses_for_one_object_changes_none() {
    let h = Harness::start().await;
    let updated_events = subscribe(&h, "product.update").await;
    let (status, created) = h
        .send(
            Method::POST,
            "/product/list",
            &json!([{"name": "Espresso"}, {"name": "Lungo"}]),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let first = created["values"][0]["id"].as_i64().unwrap();
    let second = created["values"][1]["id"].as_i64().unwrap();
    // The second object fails in the store: a stale version, then a missing id.
    for (other, status, code) in [
        (
            json!({"id": second, "version": 7, "name": "Doppio"}),
            409,
            8000,
        ),
        (json!({"id": 999_999, "name": "Doppio"}), 404, 6000),
    ] {
        let response = h
            .request(Method::PUT, "/product/list")
            .json(&json!([{"id": first, "version": 0, "name": "Ristretto"}, other]))
            .send()
            .await
            .unwrap();
        assert_api_error(response, status, code).await;
        let product = get(&h, &format!("/product/{first}?fields=name,version")).await;
        assert_eq!(product["value"], json!({"name": "Espresso", "version": 0}));
    }
    assert!(
        queued(&h, updated_events).await.is_empty(),
        "no event for the unchanged first object"
    );
}

#[tokio::test]
async fn bulk_deletes_and_the_operations_tripletex_lacks() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for name in ["Ola", "Kari"] {
        let (_, contact) = h
            .send(Method::POST, "/contact", &json!({"firstName": name}))
            .await;
        ids.push(contact["value"]["id"].as_i64().unwrap());
    }
    // An unknown id deletes nothing.
    let response = h
        .request(
            Method::DELETE,
            &format!("/contact/list?ids={},999999", ids[0]),
        )
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
    assert_eq!(get(&h, "/contact").await["fullResultSize"], 2);
    let response = h
        .request(Method::DELETE, "/contact/list?ids=x")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 21000).await;
    let response = h
        .request(
            Method::DELETE,
            &format!("/contact/list?ids={},{}", ids[0], ids[1]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(get(&h, "/contact").await["fullResultSize"], 0);
    // Not in Tripletex's document, so not served.
    for (method, path) in [
        (Method::DELETE, "/contact/1"),
        (Method::DELETE, "/employee/1"),
        (Method::PUT, "/invoice/1"),
        (Method::DELETE, "/invoice/1"),
        (Method::PUT, "/order/list"),
        (Method::DELETE, "/product/list"),
    ] {
        let response = h
            .request(method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
    }
}
