//! `/event/subscription`: every call's request and decoding, and paging.

use futures::TryStreamExt;
use serde_json::json;
use tripletex_webhooks_client::types::{NewSubscription, SubscriptionStatus, SubscriptionUpdate};
use wiremock::matchers::{basic_auth, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{SESSION_TOKEN, client, list, subscription, value};

#[tokio::test]
async fn list_sends_paging_sorting_and_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .and(query_param("from", "10"))
        .and(query_param("count", "5"))
        .and(query_param("sorting", "event,-id"))
        .and(query_param("fields", "*,changes"))
        .and(basic_auth("0", SESSION_TOKEN))
        .respond_with(list(vec![subscription(11, "product.create")], 10, 11))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .subscriptions()
        .list()
        .from(10)
        .count(5)
        .sorting("event,-id")
        .fields("*,changes")
        .send()
        .await
        .unwrap();
    assert_eq!((page.from, page.count, page.full_result_size), (10, 1, 11));
    assert_eq!(page.values[0].id, Some(11));
    assert_eq!(page.values[0].status, Some(SubscriptionStatus::Active));
}

#[tokio::test]
async fn the_stream_walks_every_page() {
    let server = MockServer::start().await;
    for (from, ids) in [(0, vec![1, 2]), (2, vec![3, 4]), (4, vec![5])] {
        let values = ids
            .iter()
            .map(|id| subscription(*id, "product.create"))
            .collect();
        Mock::given(method("GET"))
            .and(path("/v2/event/subscription"))
            .and(query_param("from", from.to_string()))
            .and(query_param("count", "2"))
            .respond_with(list(values, from, 5))
            .expect(1)
            .mount(&server)
            .await;
    }
    let ids: Vec<_> = client(&server)
        .subscriptions()
        .list()
        .count(2)
        .stream()
        .map_ok(|s| s.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_full_last_page_ends_at_the_empty_one_and_the_default_count_is_1000() {
    let server = MockServer::start().await;
    let values: Vec<_> = (1..=1000)
        .map(|id| subscription(id, "product.create"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .and(query_param("from", "0"))
        .and(query_param("count", "1000"))
        .respond_with(list(values, 0, 1000))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .and(query_param("from", "1000"))
        .respond_with(list(Vec::new(), 1000, 1000))
        .expect(1)
        .mount(&server)
        .await;
    let all = client(&server)
        .subscriptions()
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 1000);
}

#[tokio::test]
async fn get_create_update_delete_and_reenable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription/7"))
        .respond_with(value(subscription(7, "product.create")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/event/subscription"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({
            "event": "product.create", "targetUrl": "https://example.com/hooks",
            "fields": "id,version,name", "authHeaderName": "Authorization",
            "authHeaderValue": "Bearer abc123", "hmacSharedSecret": "0123456789abc"
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"value": subscription(8, "product.create")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/event/subscription/8"))
        .and(body_json(json!({"version": 0, "fields": "*"})))
        .respond_with(value(
            json!({"id": 8, "version": 1, "fields": "*", "status": "ACTIVE"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/event/subscription/9"))
        .and(body_json(json!({"status": "ACTIVE"})))
        .respond_with(value(json!({"id": 9, "version": 4, "status": "ACTIVE"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/event/subscription/8"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let subscriptions = client.subscriptions();
    assert_eq!(subscriptions.get(7).await.unwrap().id, Some(7));
    let new = NewSubscription::new(
        "product.create".parse().unwrap(),
        "https://example.com/hooks",
    )
    .with_fields("id,version,name")
    .with_auth_header("Authorization", "Bearer abc123")
    .with_hmac_secret("0123456789abc");
    assert_eq!(subscriptions.create(&new).await.unwrap().id, Some(8));
    let update = SubscriptionUpdate {
        version: Some(0),
        fields: Some("*".to_owned()),
        ..SubscriptionUpdate::default()
    };
    let updated = subscriptions.update(8, &update).await.unwrap();
    assert_eq!(
        (updated.version, updated.fields.as_deref()),
        (Some(1), Some("*"))
    );
    let reenabled = subscriptions.reenable(9).await.unwrap();
    assert_eq!(reenabled.status, Some(SubscriptionStatus::Active));
    subscriptions.delete(8).await.unwrap();
}

#[tokio::test]
async fn the_bulk_endpoints() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/event/subscription/list"))
        .and(body_json(json!([
            {"event": "product.create", "targetUrl": "https://example.com/hooks"},
            {"event": "product.delete", "targetUrl": "https://example.com/hooks"}
        ])))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "fullResultSize": 2, "from": 0, "count": 2,
            "values": [subscription(1, "product.create"), subscription(2, "product.delete")]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/event/subscription/list"))
        .and(body_json(
            json!([{"id": 1, "version": 0, "status": "DISABLED"}]),
        ))
        .respond_with(list(
            vec![json!({"id": 1, "version": 1, "status": "DISABLED"})],
            0,
            1,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/event/subscription/list"))
        .and(query_param("ids", "1,2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let subscriptions = client.subscriptions();
    let news = ["product.create", "product.delete"]
        .map(|event| NewSubscription::new(event.parse().unwrap(), "https://example.com/hooks"));
    let created = subscriptions.create_many(&news).await.unwrap();
    assert_eq!(created.len(), 2);
    let disable = SubscriptionUpdate {
        id: Some(1),
        version: Some(0),
        status: Some(SubscriptionStatus::Disabled),
        ..SubscriptionUpdate::default()
    };
    let updated = subscriptions.update_many(&[disable]).await.unwrap();
    assert_eq!(updated[0].status, Some(SubscriptionStatus::Disabled));
    subscriptions.delete_many(&[1, 2]).await.unwrap();

    // Nothing to do: no request.
    assert!(subscriptions.create_many(&[]).await.unwrap().is_empty());
    assert!(subscriptions.update_many(&[]).await.unwrap().is_empty());
    subscriptions.delete_many(&[]).await.unwrap();
    // A list update without its version is refused before sending.
    let unversioned = SubscriptionUpdate {
        id: Some(1),
        ..SubscriptionUpdate::default()
    };
    let error = subscriptions.update_many(&[unversioned]).await.unwrap_err();
    assert!(error.is_invalid_input(), "{error}");
}

#[tokio::test]
async fn reconcile_plans_from_every_page_and_applies_with_the_bulk_endpoints() {
    let server = MockServer::start().await;
    let disabled = json!({"id": 2, "version": 5, "event": "product.update",
        "targetUrl": "https://example.com/hooks", "status": "DISABLED_TOO_MANY_ERRORS"});
    let extra = json!({"id": 3, "version": 0, "event": "order.create",
        "targetUrl": "https://example.com/hooks", "status": "ACTIVE"});
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .respond_with(list(
            vec![subscription(1, "product.create"), disabled, extra],
            0,
            3,
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/event/subscription/list"))
        .and(body_json(
            json!([{"event": "product.delete", "targetUrl": "https://example.com/hooks"}]),
        ))
        .respond_with(list(vec![subscription(4, "product.delete")], 0, 1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/event/subscription/list"))
        .and(body_json(
            json!([{"id": 2, "version": 5, "status": "ACTIVE"}]),
        ))
        .respond_with(list(
            vec![json!({"id": 2, "version": 6, "status": "ACTIVE"})],
            0,
            1,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/event/subscription/list"))
        .and(query_param("ids", "3"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let desired = ["product.create", "product.update", "product.delete"]
        .map(|event| NewSubscription::new(event.parse().unwrap(), "https://example.com/hooks"));
    let reconcile = client.subscriptions().reconcile(desired).delete_extra(true);
    let plan = reconcile.dry_run().await.unwrap();
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.reenables().count(), 1);
    assert_eq!(plan.deletes[0].id, Some(3));
    let report = reconcile.apply().await.unwrap();
    assert_eq!(report.created[0].id, Some(4));
    assert_eq!(report.updated[0].version, Some(6));
    assert_eq!(report.deleted, [3]);
    assert_eq!(report.subscriptions().count(), 3);
}
