//! `/event/subscription`: CRUD, bulk endpoints, tenant isolation, write-only
//! secrets, optimistic locking, paging, sorting, `fields`, checksums,
//! validation and durability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Harness, assert_api_error, json, test_config};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

const BASE: &str = "/event/subscription";
const AUTH_VALUE: &str = "Bearer very-secret-auth-header-value";
const HMAC_SECRET: &str = "hmac-shared-secret-not-to-be-seen";

fn new_body(event: &str, target_url: &str) -> Value {
    json!({"event": event, "targetUrl": target_url})
}

async fn send(request: RequestBuilder) -> (u16, Value) {
    json(request.send().await.unwrap()).await
}

async fn status_text(request: RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Creates a subscription as company A and returns it.
async fn create(h: &Harness, body: Value) -> Value {
    let (status, body) = send(h.request(Method::POST, BASE).json(&body)).await;
    assert_eq!(status, 201, "{body}");
    body["value"].clone()
}

async fn create_product_hook(h: &Harness) -> Value {
    create(h, new_body("product.create", "https://example.com/hook")).await
}

async fn list(h: &Harness, query: &str) -> Value {
    let (status, body) = send(h.request(Method::GET, &format!("{BASE}{query}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn ids(list: &Value) -> Vec<i64> {
    list["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

fn id_of(subscription: &Value) -> i64 {
    subscription["id"].as_i64().unwrap()
}

/// The `field`s of a validation error, asserting `path`s are absent.
fn fields_of(error: &Value) -> BTreeSet<String> {
    error["validationMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m.get("path").is_none_or(Value::is_null), "{m}");
            m["field"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

#[tokio::test]
async fn create_get_update_delete() {
    let h = Harness::start().await;
    let created = create(
        &h,
        json!({"event": "product.create", "targetUrl": "http://example.com", "fields": "id,name"}),
    )
    .await;
    let id = id_of(&created);
    let host = h.server.local_addr();
    assert_eq!(
        created,
        json!({"id": id, "version": 0, "url": format!("{host}/v2/event/subscription/{id}"),
               "event": "product.create", "targetUrl": "http://example.com", "fields": "id,name",
               "status": "ACTIVE", "authHeaderName": null})
    );

    let (status, got) = send(h.request(Method::GET, &format!("{BASE}/{id}"))).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["value"], created);

    let (status, updated) = send(
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"version": 0, "targetUrl": "https://example.com/v2", "fields": ""})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    let updated = &updated["value"];
    assert_eq!(updated["version"], 1);
    assert_eq!(updated["targetUrl"], "https://example.com/v2");
    assert_eq!(updated["event"], "product.create");
    // Unset, which Tripletex returns as null.
    assert!(updated["fields"].is_null(), "{updated}");

    // A PUT without version is not locked, and still bumps it.
    let (status, updated) = send(
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"event": "order.update"})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["value"]["version"], 2);
    assert_eq!(updated["value"]["event"], "order.update");

    let response = h
        .request(Method::DELETE, &format!("{BASE}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    for method in [Method::GET, Method::DELETE] {
        let response = h
            .request(method, &format!("{BASE}/{id}"))
            .send()
            .await
            .unwrap();
        assert_api_error(response, 404, 6000).await;
    }
    let response = h
        .request(Method::PUT, &format!("{BASE}/{id}"))
        .json(&json!({"version": 2}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
}

#[tokio::test]
async fn unset_fields_and_header_names_are_null_as_tripletex_records_them() {
    let h = Harness::start().await;
    let created = create(
        &h,
        json!({"event": "invoice.charged", "targetUrl": "http://example.com"}),
    )
    .await;
    let id = id_of(&created);
    let host = h.server.local_addr();
    // Tripletex's recorded create response, key for key.
    assert_eq!(
        serde_json::to_string(&created).unwrap(),
        serde_json::to_string(&json!({
            "id": id, "version": 0, "url": format!("{host}/v2/event/subscription/{id}"),
            "event": "invoice.charged", "targetUrl": "http://example.com", "fields": null,
            "status": "ACTIVE", "authHeaderName": null,
        }))
        .unwrap()
    );
}

#[tokio::test]
async fn path_ids_must_be_integers() {
    let h = Harness::start().await;
    let response = h
        .request(Method::GET, &format!("{BASE}/abc"))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 400, 4000).await;
}

#[tokio::test]
async fn another_company_sees_nothing() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    let path = format!("{BASE}/{id}");
    for method in [Method::GET, Method::DELETE] {
        let response = h.request_as_other(method, &path).send().await.unwrap();
        assert_api_error(response, 404, 6000).await;
    }
    let response = h
        .request_as_other(Method::PUT, &path)
        .json(&json!({"targetUrl": "https://evil.example"}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
    let response = h
        .request_as_other(Method::PUT, &format!("{BASE}/list"))
        .json(&json!([{"id": id, "targetUrl": "https://evil.example"}]))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
    let response = h
        .request_as_other(Method::DELETE, &format!("{BASE}/list?ids={id}"))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;

    let (status, other) = send(h.request_as_other(Method::GET, BASE)).await;
    assert_eq!(status, 200);
    assert_eq!(other["fullResultSize"], 0);
    assert_eq!(other["values"], json!([]));

    // Company A's subscription is untouched.
    let (_, mine) = send(h.request(Method::GET, &path)).await;
    assert_eq!(mine["value"]["version"], 0);
    assert_eq!(mine["value"]["targetUrl"], "https://example.com/hook");
}

#[tokio::test]
async fn secrets_are_never_returned() {
    let h = Harness::start().await;
    let body = json!({"event": "product.create", "targetUrl": "https://example.com/hook",
                      "authHeaderName": "Authorization", "authHeaderValue": AUTH_VALUE,
                      "hmacSharedSecret": HMAC_SECRET});
    let mut texts = Vec::new();

    let (status, text) = status_text(h.request(Method::POST, BASE).json(&body)).await;
    assert_eq!(status, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = id_of(&created["value"]);
    assert_eq!(created["value"]["authHeaderName"], "Authorization");
    texts.push(text);

    let requests = [
        h.request(Method::GET, &format!("{BASE}/{id}")),
        h.request(Method::GET, &format!("{BASE}/{id}?fields=*,changes")),
        h.request(Method::GET, BASE),
        h.request(Method::GET, &format!("{BASE}?fields=*,changes")),
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"hmacSharedSecret": HMAC_SECRET, "authHeaderValue": AUTH_VALUE})),
        h.request(Method::PUT, &format!("{BASE}/list"))
            .json(&json!([{"id": id, "authHeaderValue": AUTH_VALUE}])),
        h.request(Method::POST, &format!("{BASE}/list"))
            .json(&json!([body])),
        // Error answers do not echo them either.
        h.request(Method::POST, BASE)
            .json(&json!({"event": "product.create",
            "targetUrl": "nope", "authHeaderValue": AUTH_VALUE, "hmacSharedSecret": HMAC_SECRET})),
        h.request(Method::POST, BASE)
            .json(&json!({"event": "product.create",
            "targetUrl": "https://example.com", "authHeaderValue": AUTH_VALUE,
            "hmacSharedSecret": "short"})),
    ];
    for request in requests {
        let (status, text) = status_text(request).await;
        assert!(status < 500, "{status}: {text}");
        texts.push(text);
    }
    for text in &texts {
        assert!(!text.contains(AUTH_VALUE), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains(HMAC_SECRET), "{text}");
        assert!(!text.contains("authHeaderValue\":"), "{text}");
        assert!(!text.contains("hmacSharedSecret\":"), "{text}");
    }
}

#[tokio::test]
async fn stale_versions_conflict() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    let other = id_of(&create_product_hook(&h).await);
    let path = format!("{BASE}/{id}");
    let (status, _) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"version": 0, "status": "DISABLED"})),
    )
    .await;
    assert_eq!(status, 200);
    let response = h
        .request(Method::PUT, &path)
        .json(&json!({"version": 0, "status": "ACTIVE"}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 409, 8000).await;

    // In a list, one stale version refuses the whole list.
    let response = h
        .request(Method::PUT, &format!("{BASE}/list"))
        .json(&json!([{"id": other, "version": 0, "fields": "id"},
                      {"id": id, "version": 0, "fields": "id"}]))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 409, 8000).await;
    let (_, got) = send(h.request(Method::GET, &format!("{BASE}/{other}"))).await;
    assert_eq!(got["value"]["version"], 0);
    assert!(got["value"]["fields"].is_null());
    let (_, got) = send(h.request(Method::GET, &path)).await;
    assert_eq!(got["value"]["version"], 1);
    assert_eq!(got["value"]["status"], "DISABLED");
}

#[tokio::test]
async fn paging() {
    let h = Harness::start().await;
    let mut created = Vec::new();
    for n in 0..5 {
        let url = format!("https://example.com/{n}");
        created.push(id_of(&create(&h, new_body("order.create", &url)).await));
    }
    let all = list(&h, "").await;
    assert_eq!(ids(&all), created);
    assert_eq!(
        (&all["fullResultSize"], &all["from"], &all["count"]),
        (&json!(5), &json!(0), &json!(5))
    );
    assert!(all.get("versionDigest").is_none_or(Value::is_null));

    let page = list(&h, "?from=1&count=2").await;
    assert_eq!(ids(&page), created[1..3]);
    assert_eq!(
        (&page["fullResultSize"], &page["from"], &page["count"]),
        (&json!(5), &json!(1), &json!(2))
    );
    let tail = list(&h, "?from=4&count=10").await;
    assert_eq!(ids(&tail), created[4..]);
    let beyond = list(&h, "?from=10").await;
    assert_eq!(
        (ids(&beyond).len(), &beyond["fullResultSize"]),
        (0, &json!(5))
    );
    let none = list(&h, "?count=0").await;
    assert_eq!((ids(&none).len(), &none["count"]), (0, &json!(0)));

    for bad in ["?from=-1", "?count=x", "?from=1.5"] {
        let response = h
            .request(Method::GET, &format!("{BASE}{bad}"))
            .send()
            .await
            .unwrap();
        assert_api_error(response, 422, 21000).await;
    }
}

#[tokio::test]
async fn sorting() {
    let h = Harness::start().await;
    let a = id_of(&create(&h, new_body("product.update", "https://c.example")).await);
    let b = id_of(&create(&h, new_body("customer.create", "https://a.example")).await);
    let c = id_of(&create(&h, new_body("product.update", "https://b.example")).await);

    assert_eq!(ids(&list(&h, "?sorting=-id").await), [c, b, a]);
    assert_eq!(ids(&list(&h, "?sorting=targetUrl").await), [b, c, a]);
    assert_eq!(ids(&list(&h, "?sorting=-targetUrl").await), [a, c, b]);
    // Ties fall back to the next field, then to id.
    assert_eq!(ids(&list(&h, "?sorting=event").await), [b, a, c]);
    assert_eq!(
        ids(&list(&h, "?sorting=%20event%20,%20-%20id%20").await),
        [b, c, a]
    );
    assert_eq!(ids(&list(&h, "?sorting=-event,targetUrl").await), [c, a, b]);
    assert_eq!(
        ids(&list(&h, "?sorting=-event,targetUrl&from=1&count=1").await),
        [a]
    );
    // The other sortable fields order too: b's version goes up by two, a's by one.
    for (id, times) in [(b, 2), (a, 1)] {
        for _ in 0..times {
            let (status, body) = send(
                h.request(Method::PUT, &format!("{BASE}/{id}"))
                    .json(&json!({})),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    assert_eq!(ids(&list(&h, "?sorting=version").await), [c, a, b]);
    assert_eq!(ids(&list(&h, "?sorting=-version").await), [b, a, c]);
    // Equal status, fields and auth header: the version decides.
    assert_eq!(
        ids(&list(&h, "?sorting=status,fields,authHeaderName,-version").await),
        [b, a, c]
    );

    for bad in ["name", "id,", "-", "targeturl"] {
        let response = h
            .request(Method::GET, BASE)
            .query(&[("sorting", bad)])
            .send()
            .await
            .unwrap();
        assert_api_error(response, 422, 17000).await;
    }
}

#[tokio::test]
async fn fields_filter() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    let path = format!("{BASE}/{id}");

    let (_, got) = send(h.request(Method::GET, &format!("{path}?fields=id,event"))).await;
    assert_eq!(got["value"], json!({"id": id, "event": "product.create"}));
    let filtered = list(&h, "?fields=id,status").await;
    assert_eq!(filtered["values"], json!([{"id": id, "status": "ACTIVE"}]));

    let (_, got) = send(h.request(Method::GET, &path)).await;
    assert!(got["value"].get("changes").is_none(), "{got}");
    let (_, got) = send(h.request(Method::GET, &format!("{path}?fields=*"))).await;
    assert!(got["value"].get("changes").is_none(), "{got}");

    send(h.request(Method::PUT, &path).json(&json!({"version": 0}))).await;
    let (_, got) = send(h.request(Method::GET, &format!("{path}?fields=*,changes"))).await;
    let value = &got["value"];
    assert_eq!(value["targetUrl"], "https://example.com/hook");
    let kinds: Vec<_> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["changeType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CREATE", "UPDATE"]);
    assert!(value["changes"][0]["employeeId"].as_i64().is_some());
    assert!(value["changes"][0]["timestamp"].as_str().is_some());

    // The filter shapes write answers too.
    let (status, created) = send(
        h.request(Method::POST, &format!("{BASE}?fields=id,version"))
            .json(&new_body("order.create", "https://example.com")),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["value"].as_object().unwrap().len(), 2);

    for request in [
        h.request(Method::GET, &format!("{path}?fields=id(")),
        h.request(Method::GET, &format!("{BASE}?fields=a,,b")),
        h.request(Method::PUT, &format!("{path}?fields=)"))
            .json(&json!({})),
    ] {
        let body = assert_api_error(request.send().await.unwrap(), 400, 11000).await;
        assert!(
            body["message"].as_str().unwrap().contains("fields filter"),
            "{body}"
        );
    }
    // A malformed filter on a write refuses the write.
    let (_, got) = send(h.request(Method::GET, &path)).await;
    assert_eq!(got["value"]["version"], 1);
}

#[tokio::test]
async fn if_none_match_answers_304_until_the_list_changes() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);

    let (status, first) = send(
        h.request(Method::GET, BASE)
            .header("If-None-Match", "anything"),
    )
    .await;
    assert_eq!(status, 200);
    let digest = first["versionDigest"].as_str().unwrap().to_owned();
    assert!(!digest.is_empty());

    for header in [digest.clone(), format!("\"{digest}\"")] {
        let response = h
            .request(Method::GET, BASE)
            .header("If-None-Match", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 304);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    // The digest covers the full result, not the page.
    let response = h
        .request(Method::GET, &format!("{BASE}?count=0"))
        .header("If-None-Match", &digest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 304);

    // An update changes it.
    send(
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"fields": "id"})),
    )
    .await;
    let (status, second) = send(
        h.request(Method::GET, BASE)
            .header("If-None-Match", &digest),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let second_digest = second["versionDigest"].as_str().unwrap().to_owned();
    assert_ne!(second_digest, digest);

    // So does a new subscription.
    create_product_hook(&h).await;
    let (status, third) = send(
        h.request(Method::GET, BASE)
            .header("If-None-Match", &second_digest),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(third["versionDigest"], second_digest.as_str());

    // An empty result has no digest.
    let (status, empty) = send(
        h.request_as_other(Method::GET, BASE)
            .header("If-None-Match", "x"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(empty.get("versionDigest").is_none_or(Value::is_null));
}

/// Posts `body` and returns the validation error's fields.
async fn create_fails(h: &Harness, body: &Value) -> BTreeSet<String> {
    let response = h
        .request(Method::POST, BASE)
        .json(body)
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    fields_of(&error)
}

#[tokio::test]
async fn create_validation_names_each_failing_field() {
    let h = Harness::start().await;
    let ok = |extra: Value| {
        let mut body = new_body("product.create", "https://example.com/hook");
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"targetUrl": "https://example.com"}), &["event"]),
        (ok(json!({"event": null})), &["event"]),
        (ok(json!({"event": "product"})), &["event"]),
        (ok(json!({"event": "product.create.now"})), &["event"]),
        (ok(json!({"event": "product.explode"})), &["event"]),
        (ok(json!({"event": "timesheet.create"})), &["event"]),
        (
            ok(json!({"event": format!("product.{}", "x".repeat(256))})),
            &["event"],
        ),
        (json!({"event": "product.create"}), &["targetUrl"]),
        (ok(json!({"targetUrl": "not a url"})), &["targetUrl"]),
        (ok(json!({"targetUrl": "/relative/path"})), &["targetUrl"]),
        (
            ok(json!({"targetUrl": "ftp://example.com/x"})),
            &["targetUrl"],
        ),
        (ok(json!({"targetUrl": ""})), &["targetUrl"]),
        (
            ok(json!({"targetUrl": format!("https://example.com/{}", "a".repeat(65_535))})),
            &["targetUrl"],
        ),
        (ok(json!({"fields": "id,".repeat(100)})), &["fields"]),
        (ok(json!({"fields": "id,name("})), &["fields"]),
        (
            ok(json!({"authHeaderName": "X".repeat(256)})),
            &["authHeaderName"],
        ),
        (
            ok(json!({"authHeaderName": "X-Auth", "authHeaderValue": "v".repeat(4097)})),
            &["authHeaderValue"],
        ),
        (
            ok(json!({"authHeaderValue": "Bearer abc"})),
            &["authHeaderValue"],
        ),
        (
            ok(json!({"authHeaderName": "", "authHeaderValue": "Bearer abc"})),
            &["authHeaderValue"],
        ),
        (
            ok(json!({"hmacSharedSecret": "123456789"})),
            &["hmacSharedSecret"],
        ),
        (
            ok(json!({"hmacSharedSecret": "s".repeat(101)})),
            &["hmacSharedSecret"],
        ),
        (
            ok(json!({"status": "DISABLED_TOO_MANY_ERRORS"})),
            &["status"],
        ),
        (ok(json!({"status": "DISABLED_MISUSE"})), &["status"]),
        (ok(json!({"status": "PAUSED"})), &["status"]),
        (
            json!({"event": "product", "targetUrl": "x", "fields": "(", "authHeaderValue": "v".repeat(4097),
                   "hmacSharedSecret": "short", "status": "DISABLED_RATE_LIMIT_EXCEEDED",
                   "authHeaderName": "n".repeat(300)}),
            &[
                "event",
                "targetUrl",
                "fields",
                "authHeaderName",
                "authHeaderValue",
                "hmacSharedSecret",
                "status",
            ],
        ),
        (json!({}), &["event", "targetUrl"]),
    ];
    for (body, expected) in &cases {
        assert_eq!(create_fails(&h, body).await, set(expected), "{body}");
    }
    // The parser's error is in the message.
    let response = h
        .request(Method::POST, BASE)
        .json(&ok(json!({"fields": "id,name("})))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    let message = error["validationMessages"][0]["message"].as_str().unwrap();
    assert!(message.contains("unclosed"), "{message}");
    assert_eq!(list(&h, "").await["fullResultSize"], 0);

    // The limits themselves are fine, and so are the optional fields left empty.
    let created = create(
        &h,
        ok(
            json!({"fields": "*,customer(*)", "authHeaderName": "Authorization",
                  "authHeaderValue": "v".repeat(4096), "hmacSharedSecret": "s".repeat(10),
                  "status": "DISABLED", "targetUrl": "http://u:p@127.0.0.1:9/x?token=t"}),
        ),
    )
    .await;
    assert_eq!(created["status"], "DISABLED");
    let created = create(
        &h,
        ok(
            json!({"fields": "", "authHeaderName": "", "authHeaderValue": "",
                  "hmacSharedSecret": "", "status": "ACTIVE", "event": "closeGroup.create"}),
        ),
    )
    .await;
    assert!(created["fields"].is_null() && created["authHeaderName"].is_null());
    assert_eq!(created["event"], "closeGroup.create");
}

#[tokio::test]
async fn update_validation_names_each_failing_field() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    let path = format!("{BASE}/{id}");
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"event": "product"}), &["event"]),
        (json!({"event": "nothing.happened"}), &["event"]),
        (json!({"targetUrl": "mailto:a@example.com"}), &["targetUrl"]),
        (json!({"fields": "a b"}), &["fields"]),
        (json!({"authHeaderValue": "Bearer x"}), &["authHeaderValue"]),
        (json!({"hmacSharedSecret": "short"}), &["hmacSharedSecret"]),
        (json!({"status": "DISABLED_TOO_MANY_ERRORS"}), &["status"]),
        (
            json!({"status": "X", "targetUrl": "x", "event": "x"}),
            &["event", "status", "targetUrl"],
        ),
    ];
    for (body, expected) in &cases {
        let response = h
            .request(Method::PUT, &path)
            .json(body)
            .send()
            .await
            .unwrap();
        let error = assert_api_error(response, 422, 18000).await;
        assert_eq!(fields_of(&error), set(expected), "{body}");
    }
    // Nothing was changed by the refused updates.
    let (_, got) = send(h.request(Method::GET, &path)).await;
    assert_eq!(got["value"]["version"], 0);

    // A header name set earlier makes a value alone fine; removing the name
    // while a value remains is not.
    let (status, _) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"authHeaderName": "Authorization"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"authHeaderValue": "Bearer x"})),
    )
    .await;
    assert_eq!(status, 200);
    let response = h
        .request(Method::PUT, &path)
        .json(&json!({"authHeaderName": ""}))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(fields_of(&error), set(&["authHeaderValue"]));
    let (status, got) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"authHeaderName": "", "authHeaderValue": ""})),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert!(got["value"]["authHeaderName"].is_null());
}

/// Values that Tripletex's callback could not carry, by the field they are
/// refused on: header names that are no HTTP token (the guide's placeholder
/// sentence among them), header values with control bytes or line breaks,
/// target URLs that cannot be sent as written.
const UNSENDABLE: &[(&str, &str)] = &[
    ("authHeaderName", "X-A\r\nX-Injected: 1"),
    ("authHeaderName", "X A"),
    (
        "authHeaderName",
        "(optional) custom header name, e.g. Authorization",
    ),
    ("authHeaderName", "X-Key:"),
    ("authHeaderName", "X-Nøkkel"),
    ("authHeaderValue", "Bearer abc\r\nX-Injected: 1"),
    ("authHeaderValue", "Bearer \u{1}abc"),
    ("authHeaderValue", "Bearer abc\u{7f}"),
    ("authHeaderValue", "Bearer abc\0"),
    ("authHeaderValue", " Bearer abc"),
    ("targetUrl", "https://example.com/hook#section"),
    ("targetUrl", "https://exa mple.com/hook"),
    ("targetUrl", "https://example.com/ho\nok"),
    ("targetUrl", "https://example.com/hook\t"),
    ("targetUrl", "https:\\\\example.com\\hook"),
    ("targetUrl", "http://example.com:0/hook"),
    ("targetUrl", "https://us%3Aer:pw@example.com/hook"),
    ("targetUrl", "https://%ff:pw@example.com/hook"),
    ("targetUrl", "https://user:p%0Aw@example.com/hook"),
    ("targetUrl", "javascript:alert(1)"),
];

/// A valid subscription body with `field` set to `value`.
fn with_unsendable(field: &str, value: &str) -> Value {
    let mut body = json!({"event": "product.create", "targetUrl": "https://example.com/hook",
                          "authHeaderName": "Authorization", "authHeaderValue": "Bearer abc"});
    body[field] = json!(value);
    body
}

/// Asserts a 422, code 18000, naming `field` alone (at `path` in list
/// bodies), whose messages do not repeat `value`.
async fn assert_refused(request: RequestBuilder, field: &str, path: Option<&str>, value: &str) {
    let error = assert_api_error(request.send().await.unwrap(), 422, 18000).await;
    let messages = error["validationMessages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{value:?}: {error}");
    assert_eq!(messages[0]["field"], field, "{value:?}: {error}");
    assert_eq!(messages[0]["path"].as_str(), path, "{value:?}: {error}");
    let message = messages[0]["message"].as_str().unwrap();
    assert!(!message.contains(value), "{message}");
}

#[tokio::test]
async fn headers_and_target_urls_that_cannot_be_sent_are_refused_everywhere() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    for (field, value) in UNSENDABLE {
        let body = with_unsendable(field, value);
        let valid = with_unsendable("fields", "id");
        assert_refused(
            h.request(Method::POST, BASE).json(&body),
            field,
            None,
            value,
        )
        .await;
        let list_body = json!([valid, body]);
        let at = format!("[1].{field}");
        assert_refused(
            h.request(Method::POST, &format!("{BASE}/list"))
                .json(&list_body),
            field,
            Some(&at),
            value,
        )
        .await;
        let update = json!({"authHeaderName": "Authorization", (*field): value});
        assert_refused(
            h.request(Method::PUT, &format!("{BASE}/{id}"))
                .json(&update),
            field,
            None,
            value,
        )
        .await;
        let mut list_update = update.clone();
        list_update["id"] = json!(id);
        let at = format!("[0].{field}");
        assert_refused(
            h.request(Method::PUT, &format!("{BASE}/list"))
                .json(&json!([list_update])),
            field,
            Some(&at),
            value,
        )
        .await;
    }
    // Nothing was created or changed.
    assert_eq!(list(&h, "").await["fullResultSize"], 1);
    let (_, got) = send(h.request(Method::GET, &format!("{BASE}/{id}"))).await;
    assert_eq!(got["value"]["version"], 0);

    // What a callback can carry is accepted: every token character, inner
    // spaces and tabs, a password-only credential.
    create(
        &h,
        json!({"event": "product.create", "targetUrl": "https://:pw@example.com/a?b=c",
               "authHeaderName": "X-!#$%&'*+-.^_`|~", "authHeaderValue": "Bearer a\tb ~!\"@"}),
    )
    .await;
}

#[tokio::test]
async fn clients_switch_between_active_and_disabled() {
    let h = Harness::start().await;
    let created = create(
        &h,
        json!({"event": "order.create", "targetUrl": "https://example.com", "status": "DISABLED"}),
    )
    .await;
    assert_eq!(created["status"], "DISABLED");
    let path = format!("{BASE}/{}", id_of(&created));
    let (_, got) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"status": "ACTIVE"})),
    )
    .await;
    assert_eq!(got["value"]["status"], "ACTIVE");
    let (_, got) = send(
        h.request(Method::PUT, &path)
            .json(&json!({"status": "DISABLED"})),
    )
    .await;
    assert_eq!(got["value"]["status"], "DISABLED");
    assert_eq!(got["value"]["version"], 2);
}

#[tokio::test]
async fn malformed_bodies() {
    let h = Harness::start().await;
    let id = id_of(&create_product_hook(&h).await);
    let not_json = [
        h.request(Method::POST, BASE).body("{not json"),
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .body("event=x"),
        h.request(Method::POST, &format!("{BASE}/list")).body("[{"),
        h.request(Method::PUT, &format!("{BASE}/list")).body(""),
    ];
    for request in not_json {
        let request = request.header("content-type", "application/json");
        assert_api_error(request.send().await.unwrap(), 422, 22000).await;
    }
    let wrong_types = [
        h.request(Method::POST, BASE)
            .json(&json!({"event": "product.create", "targetUrl": 5})),
        h.request(Method::POST, BASE)
            .json(&json!({"event": 5, "targetUrl": "https://example.com"})),
        h.request(Method::POST, BASE)
            .json(&json!({"event": "product.create", "targetUrl": "https://e.com", "status": 1})),
        h.request(Method::POST, BASE).json(&json!([])),
        h.request(Method::POST, BASE).json(&json!("product.create")),
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"version": "zero"})),
        h.request(Method::POST, &format!("{BASE}/list"))
            .json(&json!({"event": "product.create"})),
        h.request(Method::POST, &format!("{BASE}/list"))
            .json(&json!([new_body("product.create", "https://e.com"), {"fields": []}])),
        h.request(Method::PUT, &format!("{BASE}/list"))
            .json(&json!([{"id": "one"}])),
    ];
    for request in wrong_types {
        assert_api_error(request.send().await.unwrap(), 422, 16000).await;
    }
    assert_eq!(list(&h, "").await["fullResultSize"], 1);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut config = test_config();
    config.body_limit = 256;
    let h = Harness::with_config(config).await;
    let small = new_body("product.create", "https://example.com");
    create(&h, small).await;
    let big = new_body(
        "product.create",
        &format!("https://example.com/{}", "a".repeat(300)),
    );
    for request in [
        h.request(Method::POST, BASE).json(&big),
        h.request(Method::POST, &format!("{BASE}/list"))
            .json(&json!([big])),
        h.request(Method::PUT, &format!("{BASE}/1")).json(&big),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 413);
        let (_, body) = json(response).await;
        assert_eq!(body["status"], 413);
    }
    assert_eq!(list(&h, "").await["fullResultSize"], 1);
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing() {
    let h = Harness::start().await;
    let (status, created) = send(h.request(Method::POST, &format!("{BASE}/list")).json(&json!([
        new_body("product.create", "https://example.com/1"),
        {"event": "product.delete", "targetUrl": "https://example.com/2", "hmacSharedSecret": HMAC_SECRET},
    ])))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (
            &created["fullResultSize"],
            &created["from"],
            &created["count"]
        ),
        (&json!(2), &json!(0), &json!(2))
    );
    assert_eq!(created["values"][1]["event"], "product.delete");
    assert_eq!(ids(&list(&h, "").await), ids(&created));

    let response = h
        .request(Method::POST, &format!("{BASE}/list"))
        .json(&json!([
            new_body("order.create", "https://example.com/3"),
            new_body("order.update", "not-a-url"),
            {"event": "order", "targetUrl": "https://example.com", "status": "DISABLED_MISUSE"},
        ]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    let messages: Vec<(String, String)> = error["validationMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["field"].as_str().unwrap().to_owned(),
                m["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("targetUrl", "[1].targetUrl"),
        ("event", "[2].event"),
        ("status", "[2].status"),
    ]
    .map(|(f, p)| (f.to_owned(), p.to_owned()));
    assert_eq!(messages, expected);
    assert_eq!(list(&h, "").await["fullResultSize"], 2);

    let (status, empty) = send(
        h.request(Method::POST, &format!("{BASE}/list"))
            .json(&json!([])),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(empty["count"], 0);
}

#[tokio::test]
async fn bulk_update_is_all_or_nothing() {
    let h = Harness::start().await;
    let a = id_of(&create_product_hook(&h).await);
    let b = id_of(&create_product_hook(&h).await);
    let path = format!("{BASE}/list");

    let (status, updated) = send(h.request(Method::PUT, &path).json(&json!([
        {"id": a, "version": 0, "status": "DISABLED"},
        {"id": b, "version": 0, "targetUrl": "https://example.com/b"},
    ])))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(ids(&updated), [a, b]);
    assert_eq!(updated["count"], 2);
    assert_eq!(updated["values"][0]["status"], "DISABLED");
    assert_eq!(updated["values"][1]["targetUrl"], "https://example.com/b");
    assert_eq!(updated["values"][1]["version"], 1);

    // A missing id.
    let response = h
        .request(Method::PUT, &path)
        .json(&json!([{"id": a, "fields": "id"}, {"version": 1, "fields": "id"}]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(error["validationMessages"][0]["field"], "id");
    assert_eq!(error["validationMessages"][0]["path"], "[1].id");
    assert_eq!(error["validationMessages"].as_array().unwrap().len(), 1);

    // An invalid field in one element.
    let response = h
        .request(Method::PUT, &path)
        .json(&json!([{"id": a, "fields": "id"}, {"id": b, "targetUrl": "nope"}]))
        .send()
        .await
        .unwrap();
    let error = assert_api_error(response, 422, 18000).await;
    assert_eq!(error["validationMessages"][0]["field"], "targetUrl");
    assert_eq!(error["validationMessages"][0]["path"], "[1].targetUrl");

    // An unknown id.
    let response = h
        .request(Method::PUT, &path)
        .json(&json!([{"id": a, "fields": "id"}, {"id": 999_999, "fields": "id"}]))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;

    let after = list(&h, "?fields=id,version,fields").await;
    assert_eq!(
        after["values"],
        json!([{"id": a, "version": 1, "fields": null}, {"id": b, "version": 1, "fields": null}])
    );
}

#[tokio::test]
async fn bulk_delete_is_all_or_nothing() {
    let h = Harness::start().await;
    let a = id_of(&create_product_hook(&h).await);
    let b = id_of(&create_product_hook(&h).await);
    let c = id_of(&create_product_hook(&h).await);

    let response = h
        .request(Method::DELETE, &format!("{BASE}/list?ids={a},999999"))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 404, 6000).await;
    assert_eq!(ids(&list(&h, "").await), [a, b, c]);

    for query in ["", "?ids=", "?ids=x", "?ids=1,,2", &format!("?ids={a};{b}")] {
        let response = h
            .request(Method::DELETE, &format!("{BASE}/list{query}"))
            .send()
            .await
            .unwrap();
        assert_api_error(response, 422, 21000).await;
    }

    let response = h
        .request(Method::DELETE, &format!("{BASE}/list?ids={a},%20{c}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(ids(&list(&h, "").await), [b]);
}

#[tokio::test]
async fn a_file_database_survives_a_restart_and_clients_reenable_system_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("tripletex.db").display());
    let mut config = test_config();
    config.database_url.clone_from(&database_url);

    let h = Harness::with_config(config.clone()).await;
    let created = create(
        &h,
        json!({"event": "invoice.charged", "targetUrl": "https://example.com/i",
               "hmacSharedSecret": HMAC_SECRET}),
    )
    .await;
    let id = id_of(&created);
    h.server.shutdown().await;

    // The system disables it while the server is down.
    {
        let pool = sqlx::SqlitePool::connect(&database_url).await.unwrap();
        sqlx::query("UPDATE subscriptions SET status = 'DISABLED_TOO_MANY_ERRORS' WHERE id = ?")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    let h = Harness::with_config(config).await;
    let (status, got) = send(h.request(Method::GET, &format!("{BASE}/{id}"))).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["value"]["event"], "invoice.charged");
    assert_eq!(got["value"]["status"], "DISABLED_TOO_MANY_ERRORS");
    assert_eq!(ids(&list(&h, "").await), [id]);

    // Putting the system's status back is refused; ACTIVE re-enables it.
    let response = h
        .request(Method::PUT, &format!("{BASE}/{id}"))
        .json(&json!({"status": "DISABLED_TOO_MANY_ERRORS"}))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 18000).await;
    let (status, got) = send(
        h.request(Method::PUT, &format!("{BASE}/{id}"))
            .json(&json!({"version": 0, "status": "ACTIVE"})),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["value"]["status"], "ACTIVE");
    assert_eq!(got["value"]["version"], 1);
    h.server.shutdown().await;
}
