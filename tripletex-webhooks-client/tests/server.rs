//! The client against the bundled server, in-process: the same calls as the
//! wiremock tests, on a real implementation of the API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use test_support::eventually;
use test_support::net::RefusingPort;
use tripletex_webhooks_client::types::models::Product;
use tripletex_webhooks_client::types::{NewSubscription, SubscriptionStatus, SubscriptionUpdate};
use tripletex_webhooks_client::{Client, RetryPolicy};
use tripletex_webhooks_server::{RunningServer, ServerConfig};

const TARGET: &str = "https://example.com/webhooks/tripletex";

struct Harness {
    server: RunningServer,
    client: Client,
    http: reqwest::Client,
    token: SecretString,
}

impl Harness {
    async fn start() -> Self {
        Self::with_config(ServerConfig::for_tests()).await
    }

    /// A server, and a client that creates its own session from the tokens.
    async fn with_config(config: ServerConfig) -> Self {
        let server = RunningServer::start(config).await.unwrap();
        let client = Client::builder()
            .base_url(server.base_url())
            .consumer_token(server.consumer_token().clone())
            .employee_token(server.employee_tokens()[0].clone())
            .build()
            .unwrap();
        let token = server.create_session_token(0).await.unwrap();
        Self {
            server,
            client,
            http: reqwest::Client::new(),
            token,
        }
    }

    /// A raw authenticated request to `/v2{path}` (for objects, which the client does not write).
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.server.base_url());
        self.raw(method, url, body).await
    }

    async fn emulator(&self, path: &str) -> Value {
        let url = format!("http://{}/_emulator{path}", self.server.local_addr());
        self.raw(reqwest::Method::GET, url, None).await
    }

    async fn raw(&self, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, url)
            .basic_auth("0", Some(self.token.expose_secret()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    async fn create_product(&self, name: &str) -> i64 {
        let created = self
            .call(
                reqwest::Method::POST,
                "/product",
                Some(json!({"name": name})),
            )
            .await;
        created["value"]["id"].as_i64().unwrap()
    }
}

fn new(event: &str) -> NewSubscription {
    NewSubscription::new(event.parse().unwrap(), TARGET)
}

#[tokio::test]
async fn events_and_who_am_i() {
    let h = Harness::start().await;
    let catalog = h.client.events().list().await.unwrap();
    let product_create = "product.create".parse().unwrap();
    assert_eq!(
        catalog
            .get(&product_create)
            .and_then(|e| e.payload_model.as_deref()),
        Some("Product")
    );
    let info = h.client.events().get(&product_create).await.unwrap();
    assert_eq!(info.examples[0].event, product_create);
    let error = h
        .client
        .events()
        .get(&"nothing.happened".parse().unwrap())
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert!(error.request_id().is_some());
    let me = h.client.who_am_i().await.unwrap();
    assert!(me.company_id.is_some());
}

#[tokio::test]
async fn create_list_update_with_and_without_a_stale_version_and_delete() {
    let h = Harness::start().await;
    let subscriptions = h.client.subscriptions();
    let created = subscriptions
        .create(
            &new("product.create")
                .with_fields("id,version,name")
                .with_hmac_secret("0123456789"),
        )
        .await
        .unwrap();
    let id = created.id.unwrap();
    assert_eq!(
        (created.version, created.status.clone()),
        (Some(0), Some(SubscriptionStatus::Active))
    );
    assert_eq!(
        subscriptions.get(id).await.unwrap().fields.as_deref(),
        Some("id,version,name")
    );

    let page = subscriptions
        .list()
        .fields("id,event,status")
        .send()
        .await
        .unwrap();
    assert_eq!(page.values.len(), 1);
    assert_eq!(page.values[0].target_url, None, "the fields filter applied");

    // Without a version: not locked.
    let unlocked = SubscriptionUpdate {
        fields: Some("*".to_owned()),
        ..SubscriptionUpdate::default()
    };
    assert_eq!(
        subscriptions.update(id, &unlocked).await.unwrap().version,
        Some(1)
    );
    // With the stale version 0: a conflict.
    let stale = SubscriptionUpdate {
        version: Some(0),
        status: Some(SubscriptionStatus::Disabled),
        ..SubscriptionUpdate::default()
    };
    let error = subscriptions.update(id, &stale).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    assert_eq!(error.api_error().unwrap().code.as_i32(), 8000);
    // With the current version: accepted.
    let current = SubscriptionUpdate {
        version: Some(1),
        ..stale
    };
    let disabled = subscriptions.update(id, &current).await.unwrap();
    assert_eq!(disabled.status, Some(SubscriptionStatus::Disabled));

    // Invalid input is a validation error with its messages.
    let invalid = SubscriptionUpdate {
        target_url: Some("not a url".to_owned()),
        ..SubscriptionUpdate::default()
    };
    let error = subscriptions.update(id, &invalid).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
    assert_eq!(
        error.api_error().unwrap().validation_messages()[0]
            .field
            .as_deref(),
        Some("targetUrl")
    );

    subscriptions.delete(id).await.unwrap();
    assert!(subscriptions.get(id).await.unwrap_err().is_not_found());
    assert!(subscriptions.delete(id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn bulk_create_update_delete_and_the_stream() {
    let h = Harness::start().await;
    let subscriptions = h.client.subscriptions();
    let news: Vec<_> = [
        "product.create",
        "product.update",
        "product.delete",
        "order.create",
        "customer.create",
    ]
    .into_iter()
    .map(new)
    .collect();
    let created = subscriptions.create_many(&news).await.unwrap();
    assert_eq!(created.len(), 5);

    let all: Vec<_> = subscriptions
        .list()
        .count(2)
        .sorting("-id")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|s| s.id.unwrap()).collect();
    let mut expected: Vec<_> = created.iter().map(|s| s.id.unwrap()).collect();
    expected.reverse();
    assert_eq!(ids, expected);

    let changes: Vec<_> = created
        .iter()
        .map(|s| SubscriptionUpdate {
            id: s.id,
            version: s.version,
            fields: Some("id".to_owned()),
            ..SubscriptionUpdate::default()
        })
        .collect();
    let updated = subscriptions.update_many(&changes).await.unwrap();
    assert!(
        updated
            .iter()
            .all(|s| s.fields.as_deref() == Some("id") && s.version == Some(1))
    );
    // The same versions again are stale now.
    assert!(
        subscriptions
            .update_many(&changes)
            .await
            .unwrap_err()
            .is_conflict()
    );

    subscriptions.delete_many(&ids[..3]).await.unwrap();
    assert_eq!(subscriptions.list().all().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reconcile_twice_the_second_run_does_nothing() {
    let h = Harness::start().await;
    let subscriptions = h.client.subscriptions();
    // Someone else's subscription, and an extra one of ours.
    subscriptions
        .create(&NewSubscription::new(
            "order.create".parse().unwrap(),
            "https://other.example/hook",
        ))
        .await
        .unwrap();
    subscriptions.create(&new("customer.create")).await.unwrap();
    let desired: Vec<_> = ["product.create", "product.update", "product.delete"]
        .into_iter()
        .map(|event| {
            new(event)
                .with_auth_header("Authorization", "Bearer abc123")
                .with_hmac_secret("a-shared-secret")
        })
        .collect();
    let reconcile = || {
        subscriptions
            .reconcile(desired.clone())
            .delete_extra(true)
            .scope(|s| s.target_url.as_deref() == Some(TARGET))
    };

    let plan = reconcile().dry_run().await.unwrap();
    assert_eq!((plan.creates.len(), plan.deletes.len()), (3, 1));
    assert!(
        plan.to_string()
            .contains("create  product.create -> https://example.com/webhooks/tripletex")
    );
    let report = reconcile().apply().await.unwrap();
    assert_eq!((report.created.len(), report.deleted.len()), (3, 1));

    let second = reconcile().apply().await.unwrap();
    assert!(second.plan.is_noop(), "{}", second.plan);
    assert_eq!(second.plan.unchanged.len(), 3);
    assert!(second.created.is_empty() && second.updated.is_empty() && second.deleted.is_empty());

    let all = subscriptions.list().all().await.unwrap();
    assert_eq!(all.len(), 4, "3 desired and the other integration's");
    assert!(
        all.iter()
            .any(|s| s.target_url.as_deref() == Some("https://other.example/hook"))
    );
    assert!(
        all.iter()
            .filter(|s| s.target_url.as_deref() == Some(TARGET))
            .all(|s| s.auth_header_name.as_deref() == Some("Authorization"))
    );

    // A changed fields filter is an update, then a no-op again.
    let changed: Vec<_> = desired
        .iter()
        .cloned()
        .map(|n| n.with_fields("id,version"))
        .collect();
    let report = subscriptions
        .reconcile(changed.clone())
        .apply()
        .await
        .unwrap();
    assert_eq!(report.updated.len(), 3);
    assert!(
        subscriptions
            .reconcile(changed)
            .dry_run()
            .await
            .unwrap()
            .is_noop()
    );
}

#[tokio::test]
async fn a_subscription_the_server_disabled_is_reenabled() {
    let mut config = ServerConfig::for_tests();
    config.disable_after = Duration::from_secs(60);
    let h = Harness::with_config(config).await;
    let refusing = RefusingPort::bind();
    let dead_target = format!("http://{}/hook", refusing.addr());
    let desired = vec![NewSubscription::new(
        "product.create".parse().unwrap(),
        dead_target,
    )];
    let report = h
        .client
        .subscriptions()
        .reconcile(desired.clone())
        .apply()
        .await
        .unwrap();
    let id = report.created[0].id.unwrap();

    // A delivery fails, and keeps failing past `disable_after`.
    h.create_product("Espresso").await;
    eventually("a failed attempt", || async {
        let log = h
            .emulator(&format!("/deliveries?subscriptionId={id}"))
            .await;
        (log["values"][0]["attempts"].as_i64()? >= 1).then_some(())
    })
    .await;
    h.server.clock().advance(Duration::from_secs(120));
    let client = &h.client;
    eventually("the subscription to be disabled", || async {
        let status = client.subscriptions().get(id).await.unwrap().status;
        (status == Some(SubscriptionStatus::DisabledTooManyErrors)).then_some(())
    })
    .await;

    // Reconciling would re-enable it; so does `reenable`.
    let plan = h
        .client
        .subscriptions()
        .reconcile(desired.clone())
        .dry_run()
        .await
        .unwrap();
    assert_eq!(plan.reenables().count(), 1, "{plan}");
    let reenabled = h.client.subscriptions().reenable(id).await.unwrap();
    assert_eq!(reenabled.status, Some(SubscriptionStatus::Active));
    assert!(
        h.client
            .subscriptions()
            .reconcile(desired)
            .dry_run()
            .await
            .unwrap()
            .is_noop()
    );
}

#[tokio::test]
async fn object_sync_skips_unchanged_pages() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for n in 0..25 {
        ids.push(h.create_product(&format!("product {n}")).await);
    }
    let sync = || {
        h.client
            .sync::<Product>("product")
            .fields("id,version,name")
            .page_size(10)
    };

    let first = sync().collect().await.unwrap();
    assert_eq!(
        (first.objects.len(), first.pages, first.unchanged_pages),
        (25, 3, 0)
    );
    assert_eq!(first.objects[24].name.as_deref(), Some("product 24"));
    assert_eq!(first.objects[0].extra.len(), 0, "only the requested fields");

    let unchanged = sync().resume(first.state.clone()).collect().await.unwrap();
    assert_eq!(
        (
            unchanged.objects.len(),
            unchanged.pages,
            unchanged.unchanged_pages
        ),
        (0, 3, 3)
    );

    h.call(
        reqwest::Method::PUT,
        &format!("/product/{}", ids[3]),
        Some(json!({"name": "renamed"})),
    )
    .await;
    let changed = sync().resume(unchanged.state).collect().await.unwrap();
    assert_eq!(changed.unchanged_pages, 0);
    let renamed = changed
        .objects
        .iter()
        .find(|p| p.id == Some(ids[3]))
        .unwrap();
    assert_eq!(
        (renamed.name.as_deref(), renamed.version),
        (Some("renamed"), Some(1))
    );

    // The plain object stream sees everything.
    let all: Vec<Product> = h
        .client
        .sync("product")
        .page_size(7)
        .objects()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 25);
}

#[tokio::test]
async fn the_server_rate_limit_is_reported_when_the_reset_is_too_far() {
    let mut config = ServerConfig::for_tests();
    config.rate_limit = Some("2/1m".parse().unwrap());
    let h = Harness::with_config(config).await;
    let client = Client::builder()
        .base_url(h.server.base_url())
        .session_token(h.server.create_session_token(0).await.unwrap())
        .retry_policy(RetryPolicy::default().max_rate_limit_wait(Duration::from_secs(1)))
        .build()
        .unwrap();
    client.subscriptions().list().send().await.unwrap();
    client.subscriptions().list().send().await.unwrap();
    let error = client.subscriptions().list().send().await.unwrap_err();
    assert!(error.is_rate_limited(), "{error}");
    assert!(
        error
            .retry_after()
            .is_some_and(|reset| reset > Duration::from_secs(1))
    );
}

#[tokio::test]
async fn one_object_by_id_then_not_found_once_deleted() {
    let h = Harness::start().await;
    let id = h.create_product("Espresso").await;
    h.call(
        reqwest::Method::PUT,
        &format!("/product/{id}"),
        Some(json!({"name": "Doppio"})),
    )
    .await;
    let products = h.client.objects("product");
    let product: Product = products
        .get(id)
        .fields("id,version,name")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (product.id, product.version, product.name.as_deref()),
        (Some(id), Some(1), Some("Doppio"))
    );
    let raw = products.get(id).fields("id,name").raw().await.unwrap();
    assert_eq!(raw, json!({"id": id, "name": "Doppio"}));

    h.call(reqwest::Method::DELETE, &format!("/product/{id}"), None)
        .await;
    let gone = products.get(id).raw().await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    let never = products.get(id + 1_000_000).raw().await.unwrap_err();
    assert!(never.is_not_found(), "{never:?}");
}
