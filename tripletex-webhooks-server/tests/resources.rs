//! The object endpoints of every hosted resource: CRUD, validation, references,
//! `fields` with expansion, paging and the checksum, tenant isolation, and the
//! outbox rows each write leaves behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::time::Duration;

use common::{Harness, RESOURCES, assert_api_error, json, test_config};
use reqwest::Method;
use reqwest::header::IF_NONE_MATCH;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use test_support::reference;

/// A valid create body and a partial update (one changed field) per resource.
fn samples(path: &str) -> (Value, (&'static str, Value)) {
    match path {
        "product" => (
            json!({"name": "Espresso", "vatType": {"id": 3}}),
            ("description", json!("Dark roast")),
        ),
        "customer" => (
            json!({"name": "Acme AS", "email": "post@acme.example"}),
            ("email", json!("faktura@acme.example")),
        ),
        "supplier" => (
            json!({"name": "Beans AS"}),
            ("email", json!("orders@beans.example")),
        ),
        "employee" => (
            json!({"firstName": "Kari", "lastName": "Nordmann"}),
            ("email", json!("kari@acme.example")),
        ),
        "contact" => (
            json!({"firstName": "Ola", "lastName": "Hansen", "customer": {"id": 1}}),
            ("email", json!("ola@acme.example")),
        ),
        "project" => (
            json!({"name": "Rollout", "projectManager": {"id": 2}, "startDate": "2026-01-05", "isInternal": false}),
            ("description", json!("Three offices")),
        ),
        "order" => (
            json!({"customer": {"id": 1}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"}),
            ("reference", json!("PO-5521")),
        ),
        "ledger/account" => (
            json!({"number": 3000, "name": "Sales"}),
            ("description", json!("Sales revenue")),
        ),
        "ledger/voucher" => (
            json!({"date": "2026-03-10", "description": "Opening balance", "postings": []}),
            ("description", json!("Opening balance 2026")),
        ),
        "invoice" => (
            json!({"invoiceDate": "2026-03-10", "invoiceDueDate": "2026-03-24", "orders": [{"id": 1}]}),
            ("comment", json!("Thanks!")),
        ),
        other => panic!("no sample for resource {other}"),
    }
}

/// `127.0.0.1:PORT/v2`: the base of `url` fields.
fn url_base(h: &Harness) -> String {
    h.server.base_url().trim_start_matches("http://").to_owned()
}

async fn create(h: &Harness, path: &str, body: &Value) -> Value {
    h.create(&format!("/{path}"), body).await
}

async fn get(h: &Harness, path: &str) -> (u16, Value) {
    json(h.request(Method::GET, path).send().await.unwrap()).await
}

#[tokio::test]
async fn every_resource_supports_create_read_update_delete_and_list() {
    let h = Harness::start().await;
    let base = url_base(&h);
    for resource in RESOURCES {
        let path = resource.path;
        let (body, (key, new_value)) = samples(path);
        let created = create(&h, path, &body).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["version"], 0, "{path}: {created}");
        assert_eq!(created["url"], format!("{base}/{path}/{id}"), "{path}");
        assert!(created.get("changes").is_none(), "{path}: {created}");
        for (field, value) in body.as_object().unwrap() {
            if !value.is_object() && !value.is_array() {
                assert_eq!(&created[field], value, "{path}.{field}");
            }
        }

        let (status, read) = get(&h, &format!("/{path}/{id}")).await;
        assert_eq!((status, &read["value"]), (200, &created), "{path}");

        let (status, list) = get(&h, &format!("/{path}")).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["values"], json!([created]), "{path}");
        assert_eq!(list["fullResultSize"], 1);

        // Only the operations Tripletex's document has are served.
        if official(&format!("/{path}/{{id}}"), "put") {
            // A partial update keeps the other fields and bumps the version.
            let response = h
                .request(Method::PUT, &format!("/{path}/{id}"))
                .json(&json!({"version": 0, key: new_value}))
                .send()
                .await
                .unwrap();
            let (status, updated) = json(response).await;
            assert_eq!(status, 200, "PUT /{path}: {updated}");
            assert_eq!(updated["value"]["version"], 1, "{path}");
            assert_eq!(updated["value"][key], new_value, "{path}");
            let untouched = body
                .as_object()
                .unwrap()
                .keys()
                .find(|k| *k != key)
                .unwrap();
            assert_eq!(updated["value"][untouched], created[untouched], "{path}");

            // The same stale version again is a conflict.
            let response = h
                .request(Method::PUT, &format!("/{path}/{id}"))
                .json(&json!({"version": 0, key: new_value}))
                .send()
                .await
                .unwrap();
            assert_api_error(response, 409, 8000).await;
        } else {
            let response = h
                .request(Method::PUT, &format!("/{path}/{id}"))
                .json(&json!({key: new_value}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 405, "PUT /{path}");
        }
        if !official(&format!("/{path}/{{id}}"), "delete") {
            let response = h
                .request(Method::DELETE, &format!("/{path}/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 405, "DELETE /{path}");
            continue;
        }
        let response = h
            .request(Method::DELETE, &format!("/{path}/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 204, "{path}");
        assert!(response.bytes().await.unwrap().is_empty());

        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let mut request = h.request(method.clone(), &format!("/{path}/{id}"));
            if method == Method::PUT {
                request = request.json(&json!({key: new_value}));
            }
            assert_api_error(request.send().await.unwrap(), 404, 6000).await;
        }
        let (_, list) = get(&h, &format!("/{path}")).await;
        assert_eq!(list["values"], json!([]), "{path}");
    }
}

/// Whether Tripletex's document has `method` on `path`.
fn official(path: &str, method: &str) -> bool {
    reference::openapi()["paths"][path].get(method).is_some()
}

#[tokio::test]
async fn the_fields_tripletex_requires_are_required_and_no_others() {
    let h = Harness::start().await;
    for resource in RESOURCES {
        let required = reference::required_fields(resource.model);
        let response = h
            .request(Method::POST, &format!("/{}", resource.path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if required.is_empty() {
            assert_eq!(response.status(), 201, "{}", resource.path);
            continue;
        }
        let body = assert_api_error(response, 422, 18000).await;
        let fields: Vec<&str> = body["validationMessages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, required, "{}", resource.path);
    }
    // Null is as missing as absent, also in a partial update.
    let response = h
        .request(Method::POST, "/customer")
        .json(&json!({"name": null}))
        .send()
        .await
        .unwrap();
    let body = assert_api_error(response, 422, 18000).await;
    assert_eq!(body["validationMessages"][0]["field"], "name");
    let customer = create(&h, "customer", &json!({"name": "Acme"})).await;
    let response = h
        .request(Method::PUT, &format!("/customer/{}", customer["id"]))
        .json(&json!({"name": null}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 18000).await;
    // An empty voucher posting list is present.
    create(
        &h,
        "ledger/voucher",
        &json!({"date": "2026-01-01", "description": "x", "postings": []}),
    )
    .await;
}

#[tokio::test]
async fn wrong_types_are_mapping_errors_with_serdes_message() {
    let h = Harness::start().await;
    for (path, body) in [
        ("product", json!({"name": 5})),
        ("product", json!({"isInactive": "no"})),
        ("ledger/account", json!({"number": "3000", "name": "Sales"})),
        ("customer", json!({"name": "Acme", "version": "one"})),
    ] {
        let response = h
            .request(Method::POST, &format!("/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_api_error(response, 422, 16000).await;
        assert!(
            error["developerMessage"]
                .as_str()
                .unwrap()
                .contains("invalid type"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn bodies_must_be_json_objects() {
    let h = Harness::start().await;
    for body in ["[]", "\"product\"", "42", "null"] {
        let response = h
            .request(Method::POST, "/product")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_api_error(response, 422, 16000).await;
    }
    let response = h
        .request(Method::POST, "/product")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 22000).await;
    let product = create(&h, "product", &json!({"name": "x"})).await;
    let response = h
        .request(Method::PUT, &format!("/product/{}", product["id"]))
        .header("content-type", "application/json")
        .body("[1]")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 16000).await;
    // Ids in the path are integers; anything else names no object.
    let response = h
        .request(Method::GET, "/product/seven")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
}

#[tokio::test]
async fn server_owned_keys_in_bodies_are_ignored() {
    let h = Harness::start().await;
    let base = url_base(&h);
    let created = create(
        &h,
        "product",
        &json!({"id": 999, "version": 7, "url": "elsewhere", "changes": [{"changeType": "UPDATE"}], "name": "x"}),
    )
    .await;
    assert_ne!(created["id"], 999);
    assert_eq!(created["version"], 0);
    assert_eq!(created["url"], format!("{base}/product/{}", created["id"]));
    let (_, with_changes) = get(&h, &format!("/product/{}?fields=changes", created["id"])).await;
    assert_eq!(with_changes["value"]["changes"][0]["changeType"], "CREATE");
    assert_eq!(
        with_changes["value"]["changes"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn references_are_stored_as_stubs() {
    let h = Harness::start().await;
    let base = url_base(&h);
    let order = create(
        &h,
        "order",
        &json!({
            "customer": {"id": 5, "name": "not stored", "url": "elsewhere"},
            "currency": {"id": 1},
            "contact": null,
            "orderLines": [{"id": 11}, {"id": 12, "description": "dropped"}],
            "orderDate": "2026-03-02", "deliveryDate": "2026-03-09",
        }),
    )
    .await;
    assert_eq!(
        order["customer"],
        json!({"id": 5, "url": format!("{base}/customer/5")})
    );
    assert_eq!(
        order["currency"],
        json!({"id": 1, "url": format!("{base}/currency/1")})
    );
    assert_eq!(order["contact"], Value::Null);
    assert_eq!(
        order["orderLines"],
        json!([
            {"id": 11, "url": format!("{base}/order/orderline/11")},
            {"id": 12, "url": format!("{base}/order/orderline/12")},
        ])
    );
    // A stored stub keeps its shape under `*` too.
    let (_, all) = get(&h, &format!("/order/{}?fields=*", order["id"])).await;
    assert_eq!(all["value"]["customer"], order["customer"]);
    let voucher = create(
        &h,
        "ledger/voucher",
        &json!({"date": "2026-01-01", "description": "x", "postings": [{"id": 4}]}),
    )
    .await;
    assert_eq!(
        voucher["postings"],
        json!([{"id": 4, "url": format!("{base}/ledger/posting/4")}])
    );

    // An object without a usable `id` is no reference (validation, 18000).
    for (body, field, path) in [
        (json!({"customer": {"id": "5"}}), "customer", "customer"),
        (
            json!({"customer": {"name": "Acme"}}),
            "customer",
            "customer",
        ),
        (
            json!({"customer": {"id": 1}, "orderLines": [{"id": 1}, {"id": 0}]}),
            "orderLines",
            "orderLines[1]",
        ),
    ] {
        let error = post_order(&h, body.clone(), 18000).await;
        assert_eq!(error["validationMessages"][0]["field"], field, "{body}");
        assert_eq!(error["validationMessages"][0]["path"], path, "{body}");
    }
    // Anything but an object does not map onto the model (16000).
    for (body, field, path) in [
        (json!({"customer": 5}), "customer", "customer"),
        (
            json!({"customer": {"id": 1}, "project": [1]}),
            "project",
            "project",
        ),
        (
            json!({"customer": {"id": 1}, "orderLines": [{"id": 1}, 7]}),
            "orderLines",
            "orderLines[1]",
        ),
        (
            json!({"customer": {"id": 1}, "orderLines": {"id": 1}}),
            "orderLines",
            "orderLines",
        ),
    ] {
        let error = post_order(&h, body.clone(), 16000).await;
        assert_eq!(error["validationMessages"][0]["field"], field, "{body}");
        assert_eq!(error["validationMessages"][0]["path"], path, "{body}");
    }
}

/// Posts an order with `body` and its dates, expecting a 422 with `code`.
async fn post_order(h: &Harness, mut body: Value, code: i64) -> Value {
    body["orderDate"] = json!("2026-03-02");
    body["deliveryDate"] = json!("2026-03-09");
    let response = h
        .request(Method::POST, "/order")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, code).await
}

#[tokio::test]
async fn fields_filter_and_expand_references() {
    let h = Harness::start().await;
    let base = url_base(&h);
    let customer = create(
        &h,
        "customer",
        &json!({"name": "Acme AS", "email": "a@acme.example"}),
    )
    .await;
    let manager = create(
        &h,
        "employee",
        &json!({"firstName": "Kari", "lastName": "N"}),
    )
    .await;
    let project = create(
        &h,
        "project",
        &json!({"name": "Rollout", "projectManager": {"id": manager["id"]}, "customer": {"id": customer["id"]},
                "startDate": "2026-01-05", "isInternal": false}),
    )
    .await;
    let order = create(
        &h,
        "order",
        &json!({"customer": {"id": customer["id"]}, "project": {"id": project["id"]},
                "currency": {"id": 1}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"}),
    )
    .await;
    let order_path = format!("/order/{}", order["id"]);

    // No filter: stubs, no changes.
    let (_, plain) = get(&h, &order_path).await;
    assert_eq!(
        plain["value"]["customer"],
        json!({"id": customer["id"], "url": format!("{base}/customer/{}", customer["id"])})
    );

    // `customer(*)`: the whole customer, in its default shape.
    let (status, expanded) = get(&h, &format!("{order_path}?fields=id,customer(*)")).await;
    assert_eq!(status, 200, "{expanded}");
    assert_eq!(
        expanded["value"],
        json!({"id": order["id"], "customer": customer})
    );

    // `customer(name)`: only the name; the id is not implied.
    let (_, named) = get(&h, &format!("{order_path}?fields=customer(name)")).await;
    assert_eq!(named["value"], json!({"customer": {"name": "Acme AS"}}));

    // Two levels, and a reference the server does not host stays a stub.
    let (_, deep) = get(
        &h,
        &format!(
            "{order_path}?fields=project(name,customer(name),projectManager(firstName)),currency(*)"
        ),
    )
    .await;
    assert_eq!(
        deep["value"],
        json!({
            "project": {"name": "Rollout", "customer": {"name": "Acme AS"}, "projectManager": {"firstName": "Kari"}},
            "currency": {"id": 1, "url": format!("{base}/currency/1")},
        })
    );

    // `*` keeps every field but `changes`; `*,changes` adds them.
    let (_, star) = get(&h, &format!("{order_path}?fields=*")).await;
    assert_eq!(star["value"], plain["value"]);
    let (_, changes) = get(&h, &format!("{order_path}?fields=*,changes")).await;
    let entries = changes["value"]["changes"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["changeType"], "CREATE");
    assert!(entries[0]["employeeId"].is_i64());

    // The same filter works on lists, and on writes' responses.
    let (_, list) = get(&h, "/order?fields=id,customer(name)").await;
    assert_eq!(
        list["values"],
        json!([{"id": order["id"], "customer": {"name": "Acme AS"}}])
    );
    let response = h
        .request(
            Method::PUT,
            &format!("{order_path}?fields=version,customer(email)"),
        )
        .json(&json!({"reference": "PO-1"}))
        .send()
        .await
        .unwrap();
    let (_, updated) = json(response).await;
    assert_eq!(
        updated["value"],
        json!({"version": 1, "customer": {"email": "a@acme.example"}})
    );

    // A deleted or foreign reference is not expanded.
    let response = h
        .request(Method::DELETE, &format!("/customer/{}", customer["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (_, gone) = get(&h, &format!("{order_path}?fields=customer(*)")).await;
    assert_eq!(gone["value"]["customer"]["id"], customer["id"]);
    assert!(gone["value"]["customer"].get("name").is_none());

    for bad in ["id,(", "customer(name", "*(id)", "id)"] {
        let response = h
            .request(
                Method::GET,
                &format!("{order_path}?fields={}", urlencode(bad)),
            )
            .send()
            .await
            .unwrap();
        assert_api_error(response, 400, 11000).await;
    }
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn paging_and_the_version_digest() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&h, "product", &json!({"name": format!("p{n}")})).await["id"].clone());
    }
    let (status, page) = get(&h, "/product?from=1&count=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["fullResultSize"], 5);
    assert_eq!(
        (page["from"].clone(), page["count"].clone()),
        (json!(1), json!(2))
    );
    let page_ids: Vec<_> = page["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].clone())
        .collect();
    assert_eq!(page_ids, ids[1..3]);
    // Without If-None-Match the digest is not a checksum: none is sent.
    assert!(
        page.get("versionDigest").is_none_or(Value::is_null),
        "{page}"
    );
    let (_, beyond) = get(&h, "/product?from=10").await;
    assert_eq!(
        (beyond["count"].clone(), beyond["values"].clone()),
        (json!(0), json!([]))
    );
    let response = h
        .request(Method::GET, "/product?count=-1")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 21000).await;

    // Ask for a checksum, then resend it: nothing changed, 304.
    let digest_of = |response: reqwest::Response| async {
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "{body}");
        body["versionDigest"].as_str().unwrap().to_owned()
    };
    let first = digest_of(
        h.request(Method::GET, "/product")
            .header(IF_NONE_MATCH, "*")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let unchanged = h
        .request(Method::GET, "/product?from=0&count=2")
        .header(IF_NONE_MATCH, &first)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status().as_u16(), 304);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let quoted = h
        .request(Method::GET, "/product")
        .header(IF_NONE_MATCH, format!("\"{first}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(quoted.status().as_u16(), 304);

    // A change anywhere in the result gives 200 and a new digest.
    let response = h
        .request(Method::PUT, &format!("/product/{}", ids[4]))
        .json(&json!({"name": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let second = digest_of(
        h.request(Method::GET, "/product?count=1")
            .header(IF_NONE_MATCH, &first)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(first, second);
    let response = h
        .request(Method::DELETE, &format!("/product/{}", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let third = digest_of(
        h.request(Method::GET, "/product")
            .header(IF_NONE_MATCH, &second)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(second, third);
}

#[tokio::test]
async fn objects_belong_to_their_company() {
    let h = Harness::start().await;
    let product = create(&h, "product", &json!({"name": "mine"})).await;
    let path = format!("/product/{}", product["id"]);
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let mut request = h.request_as_other(method.clone(), &path);
        if method == Method::PUT {
            request = request.json(&json!({"name": "theirs"}));
        }
        assert_api_error(request.send().await.unwrap(), 404, 6000).await;
    }
    let (_, theirs) = json(
        h.request_as_other(Method::GET, "/product")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(theirs["values"], json!([]));
    // Nor can another company's object be expanded through a reference.
    let order = {
        let response = h
            .request_as_other(Method::POST, "/order")
            .json(&json!({"customer": {"id": product["id"]}, "orderDate": "2026-03-02", "deliveryDate": "2026-03-09"}))
            .send()
            .await
            .unwrap();
        json(response).await.1["value"].clone()
    };
    let (_, expanded) = json(
        h.request_as_other(
            Method::GET,
            &format!("/order/{}?fields=customer(*)", order["id"]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(expanded["value"]["customer"].get("name").is_none());
    let (status, mine) = get(&h, &path).await;
    assert_eq!(
        (status, mine["value"]["name"].clone()),
        (200, json!("mine"))
    );
    // Without credentials: 401.
    let response = h.anonymous(Method::GET, "/product").send().await.unwrap();
    assert_api_error(response, 401, 3000).await;
}

/// A server on a SQLite file, and a second connection to that file.
async fn with_database() -> (Harness, SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let mut config = test_config();
    config.database_url.clone_from(&url);
    let h = Harness::with_config(config).await;
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePool::connect_with(options).await.unwrap();
    (h, pool, dir)
}

async fn company_id(h: &Harness, other: bool) -> i64 {
    let path = "/token/session/%3EwhoAmI";
    let request = if other {
        h.request_as_other(Method::GET, path)
    } else {
        h.request(Method::GET, path)
    };
    json(request.send().await.unwrap()).await.1["value"]["companyId"]
        .as_i64()
        .unwrap()
}

/// A subscription row, written directly (as the subscription API would).
async fn subscribe(pool: &SqlitePool, company_id: i64, event: &str, status: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO subscriptions (company_id, version, event, target_url, status, changes, created_at_ms, updated_at_ms) \
         VALUES (?, 0, ?, 'http://127.0.0.1:9/hook', ?, '[]', 0, 0) RETURNING id",
    )
    .bind(company_id)
    .bind(event)
    .bind(status)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// `deflated`, raw DEFLATE with `dictionary` preset.
fn inflate(deflated: &[u8], dictionary: &[u8]) -> Vec<u8> {
    let mut decompress = flate2::Decompress::new(false);
    decompress.set_dictionary(dictionary).unwrap();
    let mut json = Vec::with_capacity(64 * 1024);
    let status = decompress
        .decompress_vec(deflated, &mut json, flate2::FlushDecompress::Finish)
        .unwrap();
    assert_eq!(status, flate2::Status::StreamEnd);
    json
}

/// `(event, object_id, object_version, payload)` of a subscription's messages, in order. A
/// payload kept in its object (`payload_in_object`) is the object's stored body (deflated with
/// its change log and dictionary), which must still be at the message's version, with its `id`.
async fn messages(
    pool: &SqlitePool,
    subscription_id: i64,
) -> Vec<(String, i64, Option<i64>, Option<Value>)> {
    type Row = (
        String,
        i64,
        Option<i64>,
        Option<String>,
        bool,
        Option<i64>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.event, m.object_id, m.object_version, m.payload, m.payload_in_object, \
             o.version, o.body_deflated, d.dictionary \
         FROM messages m LEFT JOIN objects o ON o.id = m.object_id \
         LEFT JOIN body_dictionaries d ON d.id = o.body_dictionary \
         WHERE m.subscription_id = ? ORDER BY m.id",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(
            |(event, id, version, payload, in_object, stored, body, dictionary)| {
                let payload = if in_object {
                    assert_eq!(
                        stored, version,
                        "the object is still at the message's version"
                    );
                    let json = inflate(&body.unwrap(), &dictionary.unwrap());
                    // `[body, changes]`
                    let object: Value = serde_json::from_slice(&json).unwrap();
                    let mut body = object[0].clone();
                    body["id"] = id.into();
                    Some(body)
                } else {
                    payload.map(|p| serde_json::from_str(&p).unwrap())
                };
                (event, id, version, payload)
            },
        )
        .collect()
}

#[tokio::test]
async fn writes_leave_one_message_per_matching_active_subscription() {
    let (h, pool, _dir) = with_database().await;
    let (a, b) = (company_id(&h, false).await, company_id(&h, true).await);
    let create_1 = subscribe(&pool, a, "product.create", "ACTIVE").await;
    let create_2 = subscribe(&pool, a, "product.create", "ACTIVE").await;
    let update = subscribe(&pool, a, "product.update", "ACTIVE").await;
    let delete = subscribe(&pool, a, "product.delete", "ACTIVE").await;
    let disabled = subscribe(&pool, a, "product.create", "DISABLED").await;
    let too_many = subscribe(&pool, a, "product.update", "DISABLED_TOO_MANY_ERRORS").await;
    let other_company = subscribe(&pool, b, "product.create", "ACTIVE").await;
    let customer = subscribe(&pool, a, "customer.create", "ACTIVE").await;

    let product = create(&h, "product", &json!({"name": "Espresso"})).await;
    let id = product["id"].as_i64().unwrap();
    let response = h
        .request(Method::PUT, &format!("/product/{id}"))
        .json(&json!({"name": "Espresso 1 kg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = h
        .request(Method::DELETE, &format!("/product/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);

    for subscription in [create_1, create_2] {
        let rows = messages(&pool, subscription).await;
        assert_eq!(rows.len(), 1);
        let (event, object_id, version, payload) = &rows[0];
        assert_eq!(
            (event.as_str(), *object_id, *version),
            ("product.create", id, Some(0))
        );
        let payload = payload.as_ref().unwrap();
        assert_eq!(
            (payload["id"].as_i64(), payload["name"].as_str()),
            (Some(id), Some("Espresso"))
        );
    }
    let rows = messages(&pool, update).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].2), ("product.update", Some(1)));
    assert_eq!(rows[0].3.as_ref().unwrap()["name"], "Espresso 1 kg");
    let rows = messages(&pool, delete).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2),
        ("product.delete", id, Some(2))
    );
    assert_eq!(rows[0].3, None);
    for quiet in [disabled, too_many, other_company, customer] {
        assert!(
            messages(&pool, quiet).await.is_empty(),
            "subscription {quiet}"
        );
    }

    // A rejected write leaves nothing behind.
    let response = h
        .request(Method::POST, "/product")
        .json(&json!({"name": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(messages(&pool, create_1).await.len(), 1);
}

#[tokio::test]
async fn invoices_announce_only_that_they_were_charged() {
    let (h, pool, _dir) = with_database().await;
    let a = company_id(&h, false).await;
    let charged = subscribe(&pool, a, "invoice.charged", "ACTIVE").await;
    // Not catalogued, so the subscription API refuses them; written directly they stay silent.
    let silent = [
        subscribe(&pool, a, "invoice.create", "ACTIVE").await,
        subscribe(&pool, a, "invoice.update", "ACTIVE").await,
        subscribe(&pool, a, "invoice.delete", "ACTIVE").await,
    ];
    let (body, (key, value)) = samples("invoice");
    let invoice = create(&h, "invoice", &body).await;
    let id = invoice["id"].as_i64().unwrap();
    // Tripletex has no PUT or DELETE of an invoice (credit notes instead).
    let response = h
        .request(Method::PUT, &format!("/invoice/{id}"))
        .json(&json!({key: value}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let response = h
        .request(Method::DELETE, &format!("/invoice/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);

    let rows = messages(&pool, charged).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2),
        ("invoice.charged", id, Some(0))
    );
    assert_eq!(rows[0].3.as_ref().unwrap()["invoiceDate"], "2026-03-10");
    for subscription in silent {
        assert!(messages(&pool, subscription).await.is_empty());
    }
}

/// Objects, their versions, session tokens and the outbox live in the file:
/// a restarted server carries on where the last one stopped.
#[tokio::test]
async fn objects_and_sessions_survive_a_restart_on_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config();
    config.database_url = format!("sqlite://{}", dir.path().join("restart.db").display());

    let first = Harness::with_config(config.clone()).await;
    let created = first
        .request(Method::POST, "/product")
        .json(&serde_json::json!({"name": "Durable"}))
        .send()
        .await
        .unwrap();
    let (_, created) = common::json(created).await;
    let id = created["value"]["id"].as_i64().unwrap();
    let updated = first
        .request(Method::PUT, &format!("/product/{id}"))
        .json(&serde_json::json!({"name": "Durable v1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status().as_u16(), 200);
    let token = first.token.clone();
    first.server.shutdown().await;

    let second = Harness::with_config(config).await;
    let response = second
        .as_token(&token, Method::GET, &format!("/product/{id}"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::json(response).await;
    assert_eq!(status, 200, "the old session token still works: {body}");
    assert_eq!(body["value"]["version"], 1);
    assert_eq!(body["value"]["name"], "Durable v1");
    // Ids keep counting up across the restart.
    let next = second
        .request(Method::POST, "/product")
        .json(&serde_json::json!({"name": "Next"}))
        .send()
        .await
        .unwrap();
    let (_, next) = common::json(next).await;
    assert!(next["value"]["id"].as_i64().unwrap() > id);
}
