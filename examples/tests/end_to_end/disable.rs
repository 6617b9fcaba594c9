//! A week of failed deliveries disables a subscription
//! (`DISABLED_TOO_MANY_ERRORS`, on the server clock); the client sees it, the
//! integration re-enables it with `reenable`, and new events flow again.

use std::time::Duration;

use serde_json::json;
use tripletex_webhooks_client::emulator::DeliveryFilter;
use tripletex_webhooks_client::types::emulator::DeliveryStatus;
use tripletex_webhooks_client::types::{NewSubscription, SubscriptionStatus};
use tripletex_webhooks_receiver::WebhookConfig;

use crate::WITHIN;
use crate::app::{App, Log, route};
use crate::tripletex::{Backend, Tripletex};

on_both_backends!(run);

const SECRET: &str = "disable-shared-secret";

async fn run(backend: Backend) {
    let t = Tripletex::start(backend).await;
    let log = Log::default();
    let config = WebhookConfig::builder()
        .header_auth("X-Api-Key", "disable-key")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let mut app = App::start(route("/hooks", &config, &log)).await;
    let desired = vec![
        NewSubscription::new("product.create".parse().unwrap(), app.url("/hooks"))
            .with_auth_header("X-Api-Key", "disable-key")
            .with_hmac_secret(SECRET),
    ];
    let subscriptions = t.client.subscriptions();
    let report = subscriptions
        .reconcile(desired.clone())
        .apply()
        .await
        .unwrap();
    let id = report.created[0].id.unwrap();

    let created = |name: &'static str| {
        let t = &t;
        async move {
            t.create("product", json!({"name": name})).await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let first = created("before the outage").await;
    log.wait_until("the first product", |all| all.len() == 1)
        .await;

    // The receiver goes away for a week: every attempt fails.
    app.stop().await;
    let during = created("during the outage").await;
    let its_log = DeliveryFilter::new().subscription(id);
    t.emulator
        .wait_for_deliveries(
            &its_log,
            |log| log.iter().any(|m| m.object_id == during && m.attempts >= 1),
            WITHIN,
        )
        .await
        .expect("a failed attempt");
    t.emulator
        .advance(Duration::from_secs(7 * 86_400 + 3600))
        .await
        .unwrap();
    let status = crate::eventually("the subscription to be disabled", || async {
        let status = subscriptions.get(id).await.unwrap().status.unwrap();
        (status != SubscriptionStatus::Active).then_some(status)
    })
    .await;
    assert_eq!(status, SubscriptionStatus::DisabledTooManyErrors);
    assert!(status.is_disabled_by_system());
    let plan = subscriptions
        .reconcile(desired.clone())
        .dry_run()
        .await
        .unwrap();
    assert_eq!(plan.reenables().count(), 1, "{plan}");

    // While disabled nothing is queued, and the pending message was closed.
    let ignored = created("while disabled").await;
    let messages = t
        .emulator
        .wait_for_deliveries(
            &its_log,
            |log| log.iter().all(|m| m.status != DeliveryStatus::Pending),
            WITHIN,
        )
        .await
        .expect("the pending message to close");
    assert!(
        messages.iter().all(|m| m.object_id != ignored),
        "{messages:#?}"
    );
    let closed = messages.iter().find(|m| m.object_id == during).unwrap();
    assert_eq!(closed.status, DeliveryStatus::Failed, "{closed:?}");
    assert_eq!(
        closed.last_error.as_deref(),
        Some("subscription not active"),
        "{closed:?}"
    );

    // Back up and re-enabled: new events flow.
    app.start_again(route("/hooks", &config, &log)).await;
    let reenabled = subscriptions.reenable(id).await.unwrap();
    assert_eq!(reenabled.status, Some(SubscriptionStatus::Active));
    assert!(
        subscriptions
            .reconcile(desired)
            .dry_run()
            .await
            .unwrap()
            .is_noop()
    );
    let after = created("after re-enabling").await;
    let handled = log
        .wait_until("the product created after re-enabling", |all| {
            all.iter().any(|h| h.id == after)
        })
        .await;
    let ids: Vec<i64> = handled.iter().map(|h| h.id).collect();
    assert_eq!(
        ids,
        [first, after],
        "nothing from the outage or while disabled"
    );
    assert_eq!(config.snapshot().accepted, 2);
}
