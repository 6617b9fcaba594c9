//! The official models decide the hosted resources: a `GET` without `fields`
//! has every top-level field of the model and validates against the official
//! schema; bodies are mapped onto the model (unknown fields, wrong types and
//! enum values refused with 16000, read-only fields ignored) and then
//! validated (required fields refused with 18000), every message naming its
//! field path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, RESOURCES, assert_api_error, json};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::reference;

/// The smallest body each resource accepts: its required fields.
fn minimal(path: &str) -> Value {
    match path {
        "product" | "contact" => json!({}),
        "customer" | "supplier" => json!({"name": "Acme AS"}),
        "employee" => json!({"firstName": "Kari", "lastName": "Nordmann"}),
        "project" => json!({"name": "Rollout", "projectManager": {"id": 1},
                            "startDate": "2026-01-05", "isInternal": false}),
        "order" => {
            json!({"customer": {"id": 1}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"})
        }
        "ledger/account" => json!({"number": 3000, "name": "Sales"}),
        "ledger/voucher" => json!({"date": "2026-03-10", "description": "Opening", "postings": []}),
        "invoice" => {
            json!({"invoiceDate": "2026-03-10", "invoiceDueDate": "2026-03-24", "orders": [{"id": 1}]})
        }
        other => panic!("no minimal body for {other}"),
    }
}

/// The official model's top-level fields, in its order, but `changes`
/// (which only a `fields` filter naming it brings).
fn official_fields(model: &str) -> Vec<String> {
    reference::schema(model)["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|name| *name != "changes")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_minimal_object_has_every_field_of_the_official_model() {
    let h = Harness::start().await;
    for resource in RESOURCES {
        let (status, created) = h
            .send(
                Method::POST,
                &format!("/{}", resource.path),
                &minimal(resource.path),
            )
            .await;
        assert_eq!(status, 201, "{}: {created}", resource.path);
        let id = created["value"]["id"].as_i64().unwrap();
        let (status, got) = json(
            h.request(Method::GET, &format!("/{}/{id}", resource.path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{got}");
        let value = &got["value"];
        let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, official_fields(resource.model), "{}", resource.path);
        let errors = reference::schema_errors(resource.model, &reference::without_nulls(value));
        assert!(errors.is_empty(), "{}: {errors:?}\n{value}", resource.path);
        assert_eq!(created["value"], *value, "{}", resource.path);
    }
}

#[tokio::test]
async fn unset_fields_have_tripletexs_values_and_read_only_ones_are_computed() {
    let h = Harness::start().await;
    let (_, customer) = h
        .send(Method::POST, "/customer", &json!({"name": "Acme AS"}))
        .await;
    let customer = &customer["value"];
    // As in a recorded `GET /customer`: text "", numbers 0, false, null
    // references, [] lists, enums at their defaults.
    assert_eq!(customer["email"], "");
    assert_eq!(customer["supplierNumber"], 0);
    assert_eq!(customer["isPrivateIndividual"], false);
    assert_eq!(customer["accountManager"], Value::Null);
    assert_eq!(customer["bankAccounts"], json!([]));
    assert_eq!(customer["language"], "NO");
    assert_eq!(customer["invoicesDueIn"], 14);
    assert_eq!(customer["isCustomer"], true);
    let (_, employee) = h
        .send(
            Method::POST,
            "/employee",
            &json!({"firstName": "Kari", "lastName": "Nordmann", "displayName": "ignored"}),
        )
        .await;
    assert_eq!(employee["value"]["displayName"], "Kari Nordmann");
    let (_, voucher) = h
        .send(Method::POST, "/ledger/voucher", &minimal("ledger/voucher"))
        .await;
    assert_eq!(voucher["value"]["year"], 2026);
}

#[tokio::test]
async fn read_only_fields_are_accepted_and_ignored_also_on_update() {
    let h = Harness::start().await;
    let (status, product) = h
        .send(
            Method::POST,
            "/product",
            &json!({"name": "Espresso", "stockOfGoods": 50, "costPrice": 3.5, "displayName": "x"}),
        )
        .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["value"]["stockOfGoods"], 0);
    assert_eq!(product["value"]["costPrice"], 0);
    assert_eq!(product["value"]["displayName"], "Espresso");
    let id = &product["value"]["id"];
    let (status, updated) = h
        .send(
            Method::PUT,
            &format!("/product/{id}"),
            &json!({"stockOfGoods": 7, "number": "1001"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["value"]["stockOfGoods"], 0);
    assert_eq!(updated["value"]["displayName"], "1001 Espresso");
}

/// The `(field, path)` of each validation message of an error body.
fn named(error: &Value) -> Vec<(String, String)> {
    error["validationMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["field"].as_str().unwrap().to_owned(),
                m["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
        .collect()
}

#[tokio::test]
async fn unknown_fields_wrong_types_and_foreign_enum_values_are_mapping_errors() {
    let h = Harness::start().await;
    for (path, body, expected) in [
        (
            "/product",
            json!({"name": "Espresso", "colour": "brown"}),
            vec![("colour", "colour")],
        ),
        ("/product", json!({"name": 5}), vec![("name", "name")]),
        (
            "/product",
            json!({"isInactive": "no"}),
            vec![("isInactive", "isInactive")],
        ),
        (
            "/product",
            json!({"weightUnit": "lb"}),
            vec![("weightUnit", "weightUnit")],
        ),
        (
            "/product",
            json!({"vatType": 3}),
            vec![("vatType", "vatType")],
        ),
        (
            "/ledger/account",
            json!({"number": "3000", "name": "Sales"}),
            vec![("number", "number")],
        ),
        (
            "/ledger/account",
            json!({"number": 3_000_000_000_i64, "name": "Sales"}),
            vec![("number", "number")],
        ),
        (
            "/customer",
            json!({"name": "Acme", "version": "one", "language": "SV"}),
            vec![("version", "version"), ("language", "language")],
        ),
        (
            "/supplier",
            json!({"name": "Beans", "bankAccounts": ["1234", 5678]}),
            vec![("bankAccounts", "bankAccounts[1]")],
        ),
        (
            "/employee",
            json!({"firstName": "K", "lastName": "N", "internationalId": {"number": 7, "kind": "x"}}),
            vec![
                ("internationalId.number", "internationalId.number"),
                ("internationalId.kind", "internationalId.kind"),
            ],
        ),
    ] {
        let response = h
            .request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_api_error(response, 422, 16000).await;
        assert_eq!(named(&error), pairs(&expected), "{path} {body}");
    }
    // The same on a partial update, and nothing is stored.
    let (_, product) = h
        .send(Method::POST, "/product", &json!({"name": "Espresso"}))
        .await;
    let item = format!("/product/{}", product["value"]["id"]);
    let response = h
        .request(Method::PUT, &item)
        .json(&json!({"name": "Lungo", "colour": "brown"}))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 16000).await;
    assert!(
        error["developerMessage"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{error}"
    );
    let (_, got) = json(h.request(Method::GET, &item).send().await.unwrap()).await;
    assert_eq!(got["value"]["name"], "Espresso");
    assert!(got["value"].get("colour").is_none());
}

#[tokio::test]
async fn required_fields_are_validation_errors_naming_each_field() {
    let h = Harness::start().await;
    let response = h
        .request(Method::POST, "/project")
        .json(&json!({"name": "Rollout", "isInternal": null}))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(
        named(&error),
        pairs(&[
            ("projectManager", "projectManager"),
            ("startDate", "startDate"),
            ("isInternal", "isInternal")
        ])
    );
    // A mapping error comes first, as Tripletex maps before it validates.
    let response = h
        .request(Method::POST, "/project")
        .json(&json!({"name": 5}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 16000).await;
}
