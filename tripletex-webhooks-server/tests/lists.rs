//! Lists: every search parameter of the official list operations with its
//! documented meaning ("Containing", "Equals", "List of IDs", "From and
//! including", "To and excluding"), ANDed; `sorting` by fields, fields of
//! referenced objects and several keys; a bad key refused with 17000; paging
//! and the checksum over the selection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, assert_api_error, json};
use reqwest::Method;
use reqwest::header::IF_NONE_MATCH;
use serde_json::{Value, json};

async fn list(h: &Harness, query: &str) -> Value {
    let (status, body) = json(h.request(Method::GET, query).send().await.unwrap()).await;
    assert_eq!(status, 200, "GET {query}: {body}");
    body
}

/// The `field` of each value of a list, in order.
async fn listed(h: &Harness, query: &str, field: &str) -> Vec<Value> {
    list(h, query).await["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value[field].clone())
        .collect()
}

async fn products(h: &Harness) -> Vec<i64> {
    let mut ids = Vec::new();
    for body in [
        json!({"name": "Espresso", "ean": "7001", "costExcludingVatCurrency": 10, "vatType": {"id": 3}}),
        json!({"name": "Lungo", "ean": "7002", "costExcludingVatCurrency": 20, "isInactive": true}),
        json!({"name": "espresso doppio", "costExcludingVatCurrency": 30, "vatType": {"id": 5}}),
    ] {
        ids.push(h.create("/product", &body).await["id"].as_i64().unwrap());
    }
    ids
}

#[tokio::test]
async fn each_filter_kind_has_its_documented_meaning() {
    let h = Harness::start().await;
    let ids = products(&h).await;
    let names = |query: &'static str| {
        let h = &h;
        async move { listed(h, &format!("/product?{query}"), "name").await }
    };
    // Containing: a part, in any case.
    assert_eq!(
        names("name=ESP").await,
        [json!("Espresso"), json!("espresso doppio")]
    );
    // Equals: text and booleans.
    assert_eq!(names("ean=7002").await, [json!("Lungo")]);
    assert_eq!(names("isInactive=true").await, [json!("Lungo")]);
    // Equals on a reference's id.
    assert_eq!(names("vatTypeId=5").await, [json!("espresso doppio")]);
    // List of IDs.
    assert_eq!(
        listed(&h, &format!("/product?ids={},{}", ids[0], ids[2]), "id").await,
        [json!(ids[0]), json!(ids[2])]
    );
    // From and including, to and excluding.
    assert_eq!(
        names("costExcludingVatCurrencyFrom=20&costExcludingVatCurrencyTo=30").await,
        [json!("Lungo")]
    );
    // ANDed, with an unknown parameter ignored.
    assert_eq!(names("name=esp&isInactive=false&colour=red").await.len(), 2);
    assert_eq!(names("name=esp&ean=7002").await.len(), 0);
    // Dates: From and including, To and excluding.
    h.create("/customer", &json!({"name": "Acme"})).await;
    for (name, start) in [("Early", "2026-01-05"), ("Late", "2026-02-01")] {
        h.create("/project", &json!({"name": name, "projectManager": {"id": 1}, "startDate": start, "isInternal": false}))
        .await;
    }
    assert_eq!(
        listed(
            &h,
            "/project?startDateFrom=2026-01-05&startDateTo=2026-02-01",
            "name"
        )
        .await,
        [json!("Early")]
    );
}

#[tokio::test]
async fn filters_follow_references_and_changes() {
    let h = Harness::start().await;
    let manager = h
        .create("/employee", &json!({"firstName": "Kari", "lastName": "N"}))
        .await;
    let other = h
        .create("/employee", &json!({"firstName": "Ola", "lastName": "H"}))
        .await;
    let first_customer = h
        .create(
            "/customer",
            &json!({"name": "Managed", "accountManager": {"id": manager["id"]}}),
        )
        .await;
    let second_customer = h
        .create(
            "/customer",
            &json!({"name": "Plain", "accountManager": {"id": other["id"]}}),
        )
        .await;
    for customer in [&first_customer, &second_customer] {
        h.create("/project", &json!({"name": customer["name"], "projectManager": {"id": manager["id"]},
                   "customer": {"id": customer["id"]}, "startDate": "2026-01-05", "isInternal": false}))
        .await;
    }
    // "List of IDs" on a field of the referenced customer.
    assert_eq!(
        listed(
            &h,
            &format!("/project?customerAccountManagerId={}", manager["id"]),
            "name"
        )
        .await,
        [json!("Managed")]
    );
    assert_eq!(
        listed(
            &h,
            &format!(
                "/customer?accountManagerId={},{}",
                manager["id"], other["id"]
            ),
            "name"
        )
        .await
        .len(),
        2
    );
    // Only what changed since a time; the emulator clock starts now.
    assert_eq!(
        listed(&h, "/customer?changedSince=2000-01-01", "name")
            .await
            .len(),
        2
    );
    assert_eq!(
        listed(&h, "/customer?changedSince=2999-01-01", "name")
            .await
            .len(),
        0
    );
    // A parameter no field answers is accepted and not applied.
    assert_eq!(
        listed(&h, "/employee?includeContacts=true", "id")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn sorting_by_fields_referenced_fields_and_several_keys() {
    let h = Harness::start().await;
    products(&h).await;
    assert_eq!(
        listed(&h, "/product?sorting=name", "name").await,
        [json!("Espresso"), json!("Lungo"), json!("espresso doppio")]
    );
    assert_eq!(
        listed(&h, "/product?sorting=-name", "name").await,
        [json!("espresso doppio"), json!("Lungo"), json!("Espresso")]
    );
    assert_eq!(
        listed(
            &h,
            "/product?sorting=isInactive,%20-costExcludingVatCurrency",
            "name"
        )
        .await,
        [json!("espresso doppio"), json!("Espresso"), json!("Lungo")]
    );
    // A field of the referenced project.
    let manager = h
        .create("/employee", &json!({"firstName": "Kari", "lastName": "N"}))
        .await;
    let customer = h.create("/customer", &json!({"name": "Acme"})).await;
    let mut orders = Vec::new();
    for project in ["Zulu", "Alpha"] {
        let project = h.create("/project", &json!({"name": project, "projectManager": {"id": manager["id"]}, "startDate": "2026-01-05", "isInternal": false}))
        .await;
        let order = h
            .create(
                "/order",
                &json!({"customer": {"id": customer["id"]}, "project": {"id": project["id"]},
                   "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"}),
            )
            .await;
        orders.push(order["id"].clone());
    }
    assert_eq!(
        listed(&h, "/order?sorting=project.name", "id").await,
        [orders[1].clone(), orders[0].clone()]
    );
    assert_eq!(
        listed(&h, "/order?sorting=-project.name", "id").await,
        [orders[0].clone(), orders[1].clone()]
    );
}

#[tokio::test]
async fn bad_sort_keys_and_parameter_values_are_refused() {
    let h = Harness::start().await;
    for query in [
        "/product?sorting=colour",
        "/product?sorting=name,-vatType.nope",
        "/order?sorting=orderLines.count",
    ] {
        let response = h.request(Method::GET, query).send().await.unwrap();
        let error = assert_api_error(response, 422, 17000).await;
        assert!(
            error["message"].as_str().unwrap().contains("sorting"),
            "{error}"
        );
    }
    for query in [
        "/product?isInactive=maybe",
        "/product?ids=1,two",
        "/ledger/account?ledgerType=NOPE",
    ] {
        let response = h.request(Method::GET, query).send().await.unwrap();
        assert_api_error(response, 422, 21000).await;
    }
}

#[tokio::test]
async fn paging_and_the_checksum_cover_the_selection() {
    let h = Harness::start().await;
    products(&h).await;
    let page = list(&h, "/product?name=esp&sorting=-name&from=1&count=1").await;
    assert_eq!(page["fullResultSize"], 2);
    assert_eq!(page["values"][0]["name"], "Espresso");
    let first = h
        .request(Method::GET, "/product?name=esp")
        .header(IF_NONE_MATCH, "probe")
        .send()
        .await
        .unwrap();
    let (_, first) = json(first).await;
    let digest = first["versionDigest"].as_str().unwrap().to_owned();
    let again = h
        .request(Method::GET, "/product?name=esp")
        .header(IF_NONE_MATCH, &digest)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    // A product outside the selection leaves it unchanged; one inside changes it.
    h.create("/product", &json!({"name": "Cortado"})).await;
    let unchanged = h
        .request(Method::GET, "/product?name=esp")
        .header(IF_NONE_MATCH, &digest)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status().as_u16(), 304);
    h.create("/product", &json!({"name": "Espresso Romano"}))
        .await;
    let changed = h
        .request(Method::GET, "/product?name=esp")
        .header(IF_NONE_MATCH, &digest)
        .send()
        .await
        .unwrap();
    let (status, changed) = json(changed).await;
    assert_eq!(status, 200);
    assert_eq!(changed["fullResultSize"], 3);
    assert_ne!(changed["versionDigest"], digest.as_str());
}
