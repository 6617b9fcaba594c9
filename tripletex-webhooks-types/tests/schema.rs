//! Our `/event*` wire shapes validate against Tripletex's own schemas
//! (the trimmed official OpenAPI document committed in `test-support/reference/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde::Serialize;
use serde_json::{Value, json};
use test_support::reference;
use tripletex_webhooks_types::{
    ApiError, ApiValidationMessage, Change, ChangeType, ErrorCode, EventCatalog, EventDescription,
    EventInfo, ListResponse, Subscription, SubscriptionStatus, ValueResponse, WebhookEnvelope,
};

/// Validates `instance` against `#/components/schemas/{schema}`.
fn assert_valid(schema: &str, instance: &impl Serialize) {
    let instance = serde_json::to_value(instance).unwrap();
    let errors = reference::schema_errors(schema, &instance);
    assert!(
        errors.is_empty(),
        "{schema} rejects {instance}: {errors:#?}"
    );
}

/// A schema that rejects the instance proves the validator is really checking.
fn assert_invalid(schema: &str, instance: &Value) {
    assert!(
        !reference::schema_errors(schema, instance).is_empty(),
        "{schema} accepted {instance}"
    );
}

fn subscription() -> Subscription {
    Subscription {
        id: Some(48_620),
        version: Some(2),
        changes: Some(vec![Change {
            employee_id: Some(1),
            timestamp: Some("2026-11-28T10:00:00".into()),
            change_type: Some(ChangeType::Update),
        }]),
        url: Some("tripletex.no/v2/event/subscription/48620".into()),
        event: Some("product.create".parse().unwrap()),
        target_url: Some("https://user:pass@example.com/hook?token=abc".into()),
        fields: Some("id,version,name".into()),
        status: Some(SubscriptionStatus::DisabledTooManyErrors),
        auth_header_name: Some("Authorization".into()),
        extra: serde_json::Map::new(),
    }
}

#[test]
fn subscription_and_its_wrappers() {
    assert_valid("Subscription", &subscription());
    assert_valid(
        "ResponseWrapperSubscription",
        &ValueResponse::new(subscription()),
    );
    let mut page = ListResponse::page(vec![subscription(), Subscription::default()], 0, 2);
    page.version_digest = Some("abc123".into());
    assert_valid("ListResponseSubscription", &page);
}

#[test]
fn api_errors() {
    let error = ApiError::validation(vec![ApiValidationMessage {
        field: Some("targetUrl".into()),
        message: Some("must be absolute".into()),
        path: Some("targetUrl".into()),
        root_id: Some(4),
    }])
    .with_request_id("r-1");
    assert_valid("ApiError", &error);
    assert_valid(
        "ApiError",
        &ApiError::new(ErrorCode::NotFound, "Object not found"),
    );
}

#[test]
fn catalog_and_event_info() {
    let catalog: EventCatalog = [
        ("product.create", Some("Product"), "Product created"),
        ("order.delete", None, "Order deleted"),
    ]
    .into_iter()
    .map(|(event, model, description)| {
        (
            event.parse().unwrap(),
            EventDescription {
                description: Some(description.into()),
                payload_model: model.map(Into::into),
                extra: serde_json::Map::new(),
            },
        )
    })
    .collect();
    // The spec's EventInfoDescription lacks `payloadModel`, but allows extra keys.
    assert_valid(
        "ResponseWrapperMapStringEventInfoDescription",
        &ValueResponse::new(catalog),
    );

    let example = WebhookEnvelope {
        subscription_id: 3,
        event: "product.create".parse().unwrap(),
        id: 7,
        value: json!({"id": 7, "version": 0, "name": "Espresso"}),
    };
    assert_valid("WebHookWrapper", &example);
    let info = EventInfo {
        name: Some("product.create".into()),
        description: Some("Product created".into()),
        payload_model: Some("Product".into()),
        examples: vec![example],
        extra: serde_json::Map::new(),
    };
    assert_valid("EventInfo", &info);
    assert_valid("ResponseWrapperEventInfo", &ValueResponse::new(info));
}

#[test]
fn the_validator_rejects_wrong_shapes() {
    assert_invalid("Subscription", &json!({"id": "seven"}));
    assert_invalid("Subscription", &json!({"status": "SLEEPING"}));
    assert_invalid("ApiError", &json!({"status": 404, "code": "NotFound"}));
    assert_invalid(
        "WebHookWrapper",
        &json!({"subscriptionId": 1, "event": "x.y", "id": 1, "value": []}),
    );
}
