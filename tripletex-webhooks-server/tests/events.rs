//! `GET /event` and `GET /event/{eventType}`: the catalogue, example
//! deliveries that decode as typed events, and Tripletex's own schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, assert_api_error, json};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::reference;
use tripletex_webhooks_types::{EventPayload, WebhookEnvelope, known_event_types};

/// Where `instance` breaks Tripletex's `#/components/schemas/{schema}`: the instance paths.
fn schema_errors(schema: &str, instance: &Value) -> Vec<String> {
    reference::schema_error_paths(schema, instance)
}

#[tokio::test]
async fn the_catalogue_is_public_and_lists_every_event() {
    let h = Harness::start().await;
    let response = h.anonymous(Method::GET, "/event").send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert!(schema_errors("ResponseWrapperMapStringEventInfoDescription", &body).is_empty());

    let catalogue = body["value"].as_object().unwrap();
    let mut names: Vec<&str> = catalogue.keys().map(String::as_str).collect();
    // Tripletex's documented events (committed from its webhook guide).
    let mut expected: Vec<&str> = reference::events()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for documented in reference::events() {
        let name = &documented.name;
        let entry = &catalogue[name];
        assert!(!entry["description"].as_str().unwrap().is_empty(), "{name}");
        if name.ends_with(".delete") {
            // Delete events carry only the id, no object of a model.
            assert!(entry.get("payloadModel").is_none(), "{name}: {entry}");
        } else if let Some(model) = &documented.payload_model {
            assert_eq!(
                entry["payloadModel"].as_str(),
                Some(model.as_str()),
                "{name}"
            );
        } else {
            // Tripletex does not document this model: only that there is one.
            assert!(entry["payloadModel"].is_string(), "{name}: {entry}");
        }
    }
    assert_eq!(
        body["value"]["product.create"],
        json!({"description": "Product created", "payloadModel": "Product"})
    );
    assert_eq!(
        body["value"]["order.delete"],
        json!({"description": "Order deleted"})
    );
    assert_eq!(
        body["value"]["invoice.charged"]["description"],
        "A new invoice has been created and charged"
    );
    assert!(body["value"].get("invoice.create").is_none());
}

#[tokio::test]
async fn every_event_has_an_example_that_decodes() {
    let h = Harness::start().await;
    let base = h.server.base_url().trim_start_matches("http://").to_owned();
    for event in known_event_types() {
        let response = h
            .request(Method::GET, &format!("/event/{event}"))
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "{event}: {body}");
        let info = &body["value"];
        assert_eq!(info["name"], event.to_string());
        assert!(!info["description"].as_str().unwrap().is_empty());
        let examples = info["examples"].as_array().unwrap();
        assert_eq!(examples.len(), 1, "{event}");

        let envelope: WebhookEnvelope = serde_json::from_value(examples[0].clone()).unwrap();
        assert_eq!(envelope.event, event);
        let decoded = envelope.decode().unwrap_or_else(|e| panic!("{event}: {e}"));
        assert!(
            !matches!(decoded.payload, EventPayload::Unknown(_)),
            "{event}"
        );
        assert_eq!(
            decoded.payload.payload_model(),
            info["payloadModel"].as_str(),
            "{event}"
        );

        let errors = schema_errors("ResponseWrapperEventInfo", &body);
        if event.is_delete() {
            // Deletes carry `value: null`, which the spec (declaring nothing
            // nullable) does not allow for; everything else must validate.
            assert!(envelope.value.is_null(), "{event}");
            assert_eq!(errors, ["/value/examples/0/value"], "{event}");
        } else {
            assert!(errors.is_empty(), "{event}: {errors:?}");
            let value = &envelope.value;
            assert_eq!(value["id"].as_i64(), Some(envelope.id), "{event}");
            assert!(value["version"].is_i64(), "{event}");
            assert!(value.get("changes").is_none(), "{event}");
            // The default shape: every reference is a stub on this server.
            for (key, field) in value.as_object().unwrap() {
                if let Some(url) = field.get("url").and_then(Value::as_str) {
                    assert!(url.starts_with(&base), "{event}.{key}: {url}");
                    assert_eq!(field.as_object().unwrap().len(), 2, "{event}.{key}");
                }
            }
        }
    }
}

#[tokio::test]
async fn examples_are_realistic() {
    let h = Harness::start().await;
    let (_, body) = json(
        h.request(Method::GET, "/event/order.create")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let example = &body["value"]["examples"][0];
    assert_eq!(example["subscriptionId"], 1);
    assert_eq!(example["id"], example["value"]["id"]);
    assert!(example["value"]["customer"]["id"].is_i64());
    assert!(example["value"]["orderDate"].is_string());
    let (_, body) = json(
        h.request(Method::GET, "/event/product.delete")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["value"]["description"], "Product deleted");
    assert!(body["value"].get("payloadModel").is_none());
    assert_eq!(body["value"]["examples"][0]["value"], Value::Null);
}

#[tokio::test]
async fn unknown_and_malformed_event_types_are_not_found() {
    let h = Harness::start().await;
    for name in [
        "timesheetEntry.approve",
        "invoice.create",
        "product.charged",
        "product",
        "product.",
        "closegroup.create",
    ] {
        let response = h
            .request(Method::GET, &format!("/event/{name}"))
            .send()
            .await
            .unwrap();
        assert_api_error(response, 404, 6000).await;
    }
    // Only the catalogue itself is public.
    let response = h
        .anonymous(Method::GET, "/event/product.create")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 401, 3000).await;
}

#[tokio::test]
async fn fields_shape_the_response_value() {
    let h = Harness::start().await;
    let (status, body) = json(
        h.request(
            Method::GET,
            "/event/product.create?fields=name,payloadModel",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["value"],
        json!({"name": "product.create", "payloadModel": "Product"})
    );
    let (_, body) = json(
        h.request(
            Method::GET,
            "/event/product.create?fields=examples(event,value(name,supplier))",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let value = &body["value"]["examples"][0]["value"];
    assert_eq!(body["value"]["examples"][0]["event"], "product.create");
    assert_eq!(value.as_object().unwrap().len(), 2, "{value}");
    assert!(value["supplier"]["id"].is_i64());
    let (status, all) = json(
        h.anonymous(Method::GET, "/event?fields=*")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        all["value"].as_object().unwrap().len(),
        known_event_types().len()
    );
    let response = h
        .anonymous(Method::GET, "/event?fields=a(")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 400, 11000).await;
}
