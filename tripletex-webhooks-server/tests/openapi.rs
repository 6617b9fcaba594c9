//! `GET /openapi.json`: the document covers every route the server serves,
//! its shared schemas have Tripletex's shapes, and the live responses
//! validate against it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use common::{Harness, RESOURCES, json, test_config};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use test_support::reference;

/// The schemas this server shares with Tripletex.
const SHARED: [&str; 11] = [
    "Subscription",
    "ListResponseSubscription",
    "ResponseWrapperSubscription",
    "ApiError",
    "ApiValidationMessage",
    "Change",
    "EventInfo",
    "EventInfoDescription",
    "ResponseWrapperEventInfo",
    "ResponseWrapperMapStringEventInfoDescription",
    "WebHookWrapper",
];

/// Every path and method the server serves outside the resource table
/// (`/_emulator` paths and [`PROBES`] are relative to the root, the others
/// to `/v2`).
const FIXED: &[(&str, &[&str])] = &[
    ("/token/session/:create", &["put"]),
    ("/token/session/>whoAmI", &["get"]),
    ("/token/session/{token}", &["delete"]),
    ("/event", &["get"]),
    ("/event/{eventType}", &["get"]),
    ("/event/subscription", &["get", "post"]),
    ("/event/subscription/list", &["post", "put", "delete"]),
    ("/event/subscription/{id}", &["get", "put", "delete"]),
    ("/openapi.json", &["get"]),
];

/// Health and readiness, at the root and without authentication.
const PROBES: &[(&str, &[&str])] = &[("/health", &["get"]), ("/ready", &["get"])];

const EMULATOR: &[(&str, &[&str])] = &[
    ("/_emulator/events", &["post"]),
    ("/_emulator/clock", &["get"]),
    ("/_emulator/clock/advance", &["post"]),
    ("/_emulator/deliveries", &["get"]),
    ("/_emulator/deliveries/{id}", &["get"]),
    ("/_emulator/deliveries/{id}/redeliver", &["post"]),
    ("/_emulator/reset", &["post"]),
    ("/_emulator/stream", &["get"]),
];

/// Operations that need no credentials.
const PUBLIC: [(&str, &str); 5] = [
    ("/event", "get"),
    ("/token/session/:create", "put"),
    ("/openapi.json", "get"),
    ("/health", "get"),
    ("/ready", "get"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every route the server serves: path → methods.
fn expected_routes(emulator: bool) -> BTreeMap<String, BTreeSet<String>> {
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |path: String, methods: &[&str]| {
        routes
            .entry(path)
            .or_default()
            .extend(methods.iter().map(|m| (*m).to_owned()));
    };
    for (path, methods) in FIXED.iter().chain(PROBES) {
        add((*path).to_owned(), methods);
    }
    // Of each resource's operations, those Tripletex's document has.
    for resource in RESOURCES {
        add(format!("/{}", resource.path), &["get", "post"]);
        for path in [
            format!("/{}/{{id}}", resource.path),
            format!("/{}/list", resource.path),
        ] {
            let official: Vec<&str> = official_methods(&path);
            if !official.is_empty() {
                add(path, &official);
            }
        }
    }
    if emulator {
        for (path, methods) in EMULATOR {
            add((*path).to_owned(), methods);
        }
    }
    routes
}

/// The methods Tripletex's document has on a path, of get, put, post, delete.
fn official_methods(path: &str) -> Vec<&'static str> {
    let item = &reference::openapi()["paths"][path];
    ["get", "put", "post", "delete"]
        .into_iter()
        .filter(|method| item.get(*method).is_some())
        .collect()
}

/// The documented operations: path → methods.
fn documented_routes(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|key| METHODS.contains(&key.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

async fn fetch_document(h: &Harness) -> Value {
    let response = h
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Where `instance` breaks our `#/components/schemas/{schema}`.
fn schema_errors(doc: &Value, schema: &str, instance: &Value) -> Vec<String> {
    assert!(
        doc["components"]["schemas"].get(schema).is_some(),
        "no schema {schema}"
    );
    let root = json!({
        "components": with_nulls(&doc["components"]),
        "$ref": format!("#/components/schemas/{schema}"),
    });
    let validator = jsonschema::validator_for(&root).unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema's terms, which the
/// validator speaks: `null` is one more value the schema accepts.
fn with_nulls(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut converted: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(key, _)| *key != "nullable")
                .map(|(key, value)| (key.clone(), with_nulls(value)))
                .collect();
            if map.get("nullable") != Some(&Value::Bool(true)) {
                return Value::Object(converted);
            }
            match converted.remove("type") {
                Some(kind) => {
                    converted.insert("type".to_owned(), json!([kind, "null"]));
                    Value::Object(converted)
                }
                None => json!({"anyOf": [{"type": "null"}, converted]}),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(with_nulls).collect()),
        other => other.clone(),
    }
}

/// Fails unless `instance`, its `null` fields left out, is valid: Tripletex's
/// document declares nothing nullable, yet its responses (and ours) carry
/// `null` for unset references and a subscription's unset `fields`.
fn assert_valid(doc: &Value, schema: &str, instance: &Value) {
    let errors = schema_errors(doc, schema, &reference::without_nulls(instance));
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{instance}");
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_covers_every_route() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.0."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/v2");
    assert_eq!(documented_routes(&doc), expected_routes(true));

    assert_eq!(
        doc["components"]["securitySchemes"]["tokenAuthScheme"],
        reference::openapi()["components"]["securitySchemes"]["tokenAuthScheme"]
    );

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "dangling {target}");
    }
    for resource in RESOURCES {
        let model = resource.model;
        for name in [
            model.to_owned(),
            format!("ResponseWrapper{model}"),
            format!("ListResponse{model}"),
        ] {
            assert!(schemas.contains_key(&name), "{name}");
        }
    }

    let mut operation_ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let at_root = path.starts_with("/_emulator/") || PROBES.iter().any(|(p, _)| p == path);
        assert_eq!(
            item.get("servers").map(|s| s[0]["url"].clone()),
            at_root.then(|| json!("/")),
            "{path}"
        );
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "duplicate {id}");
            assert!(operation["tags"][0].is_string(), "{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            assert_eq!(
                responses["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ApiError",
                "{method} {path}"
            );
            assert!(
                responses
                    .keys()
                    .any(|status| ["200", "201", "202", "204"].contains(&status.as_str())),
                "{method} {path}: {responses:?}"
            );
            let public = PUBLIC.contains(&(path.as_str(), method.as_str()));
            assert_eq!(
                operation.get("security").cloned(),
                (!public).then(|| json!([{"tokenAuthScheme": []}])),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn the_document_is_public_and_omits_a_disabled_emulator() {
    let mut config = test_config();
    config.no_emulator_api = true;
    let h = Harness::with_config(config).await;
    let doc = fetch_document(&h).await;
    assert_eq!(documented_routes(&doc), expected_routes(false));
    assert!(
        doc["components"]["schemas"]
            .get("EmulatorEmitRequest")
            .is_none()
    );
}

/// The operations, grouped by the router's own routes: `:create`, `>whoAmI`
/// and `{token}` are one axum route. Keys are (served from the root, path
/// with every parameter as `1`).
fn router_routes(doc: &Value) -> BTreeMap<(bool, String), BTreeSet<String>> {
    let mut routes: BTreeMap<(bool, String), BTreeSet<String>> = BTreeMap::new();
    for (path, methods) in documented_routes(doc) {
        let concrete: Vec<&str> = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') || segment.starts_with(':') || segment.starts_with('>')
                {
                    "1"
                } else {
                    segment
                }
            })
            .collect();
        let root = doc["paths"][&path].get("servers").is_some();
        routes
            .entry((root, concrete.join("/")))
            .or_default()
            .extend(methods);
    }
    routes
}

#[tokio::test]
async fn every_documented_operation_is_served_and_its_path_serves_no_other_method() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;

    let operations: usize = documented_routes(&doc).values().map(BTreeSet::len).sum();
    let routes: usize = expected_routes(true).values().map(BTreeSet::len).sum();
    assert_eq!(operations, routes);
    // Per resource: search, create, the item's (employee, contact: no
    // delete; invoice: get only) and the list's.
    assert_eq!(
        routes,
        3 + 2 + 8 + 1 + 2 + 8 + 2 * RESOURCES.len() + 26 + 18,
        "tokens, events, subscriptions, openapi, probes, emulator, resources"
    );

    // Each documented method reaches a handler (not the fallback, not 405);
    // each other method on the same route is 405, so no method is undocumented.
    // Empty bodies and unknown ids make every call fail before it changes anything.
    for ((root, path), methods) in router_routes(&doc) {
        for method in METHODS {
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let request = if root {
                h.emulator(verb, &path)
            } else {
                h.request(verb, &path)
            };
            let response = request.send().await.unwrap();
            if path == "/_emulator/stream" && method == "get" {
                // Served, and never ends: only its head is read.
                assert_eq!(response.status(), 200, "{method} {path}");
                assert_eq!(response.headers()["content-type"], "text/event-stream");
                continue;
            }
            let (status, body) = json(response).await;
            if methods.contains(method) {
                assert_ne!(status, 405, "{method} {path}: {body}");
                assert_ne!(
                    body["developerMessage"], "No such endpoint.",
                    "{method} {path}: {body}"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not documented");
            }
        }
    }
}

/// `path` with every parameter segment (`{id}`, `:action`, `>query`) as `1`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') || segment.starts_with(':') || segment.starts_with('>') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Beyond the document's own routes: every path of Tripletex's official
/// document (the resources and `/event*`) and every fixed route, with every
/// method, is probed; whatever the server serves must be documented.
#[tokio::test]
async fn every_official_path_the_server_serves_is_documented() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;
    let documented = documented_routes(&doc);
    // A documented operation whose template the request path fits (a
    // parameter segment fits any segment: `/contact/list` is `/contact/{id}`).
    let fits = |target: &str, method: &str| {
        documented.iter().any(|(template, methods)| {
            let (t, p): (Vec<_>, Vec<_>) =
                (template.split('/').collect(), target.split('/').collect());
            methods.contains(method)
                && t.len() == p.len()
                && t.iter()
                    .zip(&p)
                    .all(|(t, p)| t.starts_with('{') || t == p || concrete(t) == *p)
        })
    };
    let official = reference::openapi()["paths"].as_object().unwrap().keys();
    let fixed = FIXED.iter().map(|(path, _)| (*path).to_owned());
    let mut served = 0;
    for path in official.cloned().chain(fixed) {
        let target = concrete(&path);
        for method in METHODS {
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = json(h.request(verb, &target).send().await.unwrap()).await;
            let unserved = status == 405 || body["developerMessage"] == "No such endpoint.";
            if !unserved {
                served += 1;
                assert!(
                    fits(&target, method),
                    "{method} {path} is served ({status}) but not documented: {body}"
                );
            }
        }
    }
    // The probe reaches what is served: at least every documented /v2 operation.
    let v2_operations = expected_routes(false)
        .values()
        .map(BTreeSet::len)
        .sum::<usize>()
        - PROBES.len();
    assert!(
        served >= v2_operations,
        "{served} served of {v2_operations}"
    );
}

#[tokio::test]
async fn shared_schemas_have_tripletex_shapes() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;
    let ours = &doc["components"]["schemas"];
    let theirs = &reference::openapi()["components"]["schemas"];
    for name in SHARED {
        let (ours, theirs) = (&ours[name], &theirs[name]);
        assert_eq!(ours["type"], theirs["type"], "{name}");
        assert_eq!(ours.get("readOnly"), theirs.get("readOnly"), "{name}");
        let our_props = ours["properties"].as_object().unwrap();
        let their_props = theirs["properties"].as_object().unwrap();
        let mut our_names: BTreeSet<&str> = our_props.keys().map(String::as_str).collect();
        let their_names: BTreeSet<&str> = their_props.keys().map(String::as_str).collect();
        if name == "EventInfoDescription" {
            // Real responses carry it; Tripletex's document does not.
            assert!(our_names.remove("payloadModel"), "{name}");
        }
        assert_eq!(our_names, their_names, "{name}");
        for (property, their) in their_props {
            let our = &our_props[property];
            for key in [
                "type",
                "format",
                "enum",
                "$ref",
                "items",
                "additionalProperties",
                "readOnly",
            ] {
                assert_eq!(our.get(key), their.get(key), "{name}.{property}.{key}");
            }
        }
    }
}

#[tokio::test]
async fn live_responses_validate_against_the_document() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;

    // The validator is not vacuous.
    assert!(
        !schema_errors(
            &doc,
            "ResponseWrapperSubscription",
            &json!({"value": {"id": "x"}})
        )
        .is_empty()
    );
    assert!(!schema_errors(&doc, "ApiError", &json!({"status": "404"})).is_empty());

    let subscription = json!({
        "event": "product.create",
        "targetUrl": "https://example.com/hook",
        "fields": "id,name",
        "authHeaderName": "Authorization",
        "authHeaderValue": "Bearer secret",
    });
    let (status, created) = json(
        h.request(Method::POST, "/event/subscription")
            .json(&subscription)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_valid(&doc, "ResponseWrapperSubscription", &created);
    let id = created["value"]["id"].as_i64().unwrap();

    let (status, one) = json(
        h.request(
            Method::GET,
            &format!("/event/subscription/{id}?fields=*,changes"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_valid(&doc, "ResponseWrapperSubscription", &one);

    let (status, list) = json(
        h.request(Method::GET, "/event/subscription")
            .header("If-None-Match", "x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["values"].as_array().unwrap().len(), 1);
    assert!(list["versionDigest"].is_string(), "{list}");
    assert_valid(&doc, "ListResponseSubscription", &list);

    let (status, bulk) = json(
        h.request(Method::POST, "/event/subscription/list")
            .json(&json!([{"event": "order.create", "targetUrl": "https://example.com/o"}]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{bulk}");
    assert_valid(&doc, "ListResponseSubscription", &bulk);

    for (method, path, body, expected) in [
        (Method::GET, "/event/subscription/999999", None, 404),
        (
            Method::POST,
            "/event/subscription",
            Some(json!({"event": "nope", "targetUrl": "ftp://x"})),
            422,
        ),
        (Method::GET, "/no/such/endpoint", None, 404),
        (Method::PATCH, "/event/subscription", None, 405),
    ] {
        let mut request = h.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, error) = json(request.send().await.unwrap()).await;
        assert_eq!(status, expected, "{path}: {error}");
        assert_valid(&doc, "ApiError", &error);
    }
    let (status, unauthorized) = json(
        h.anonymous(Method::GET, "/event/subscription")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_valid(&doc, "ApiError", &unauthorized);

    let (status, catalogue) = json(h.anonymous(Method::GET, "/event").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_valid(
        &doc,
        "ResponseWrapperMapStringEventInfoDescription",
        &catalogue,
    );
    assert_eq!(
        catalogue["value"]["product.create"]["payloadModel"],
        "Product"
    );

    let (status, info) = json(
        h.request(Method::GET, "/event/product.create")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&doc, "ResponseWrapperEventInfo", &info);

    let (status, who) = json(
        h.request(Method::GET, "/token/session/%3EwhoAmI")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&doc, "ResponseWrapperLoggedInUserInfo", &who);

    let (status, session) = json(
        h.anonymous(
            Method::PUT,
            &format!(
                "/token/session/:create?consumerToken={}&employeeToken={}&expirationDate=2099-01-01",
                h.server.consumer_token().expose_secret(),
                common::EMPLOYEE_TOKENS[0],
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert_valid(&doc, "ResponseWrapperSessionToken", &session);

    let (status, product) = json(
        h.request(Method::POST, "/product")
            .json(&json!({"name": "Beans", "number": "B-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    // The official schemas declare nothing nullable; unset references are null.
    assert!(product["value"]["vatType"].is_null(), "{product}");
    assert_valid(
        &doc,
        "ResponseWrapperProduct",
        &reference::without_nulls(&product),
    );
    let (status, products) = json(
        h.request(Method::GET, "/product?fields=*,changes")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{products}");
    assert_valid(
        &doc,
        "ListResponseProduct",
        &reference::without_nulls(&products),
    );

    let (status, log) = json(
        h.emulator(Method::GET, "/_emulator/deliveries")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{log}");
    assert_valid(&doc, "ListResponseEmulatorDelivery", &log);
    let path = format!("/_emulator/deliveries/{}", log["values"][0]["id"]);
    let (status, delivery) = json(h.emulator(Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(status, 200, "{delivery}");
    assert_valid(&doc, "ResponseWrapperEmulatorDelivery", &delivery);
}

#[tokio::test]
async fn list_operations_and_models_are_the_official_ones() {
    let h = Harness::start().await;
    let doc = fetch_document(&h).await;
    let official = reference::openapi();
    for resource in RESOURCES {
        let path = format!("/{}", resource.path);
        let names = |operation: &Value| -> BTreeSet<String> {
            operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(&doc["paths"][&path]["get"]),
            names(&official["paths"][&path]["get"]),
            "{path}"
        );
        assert_eq!(
            doc["components"]["schemas"][resource.model],
            official["components"]["schemas"][resource.model],
            "{}",
            resource.model
        );
    }
}
