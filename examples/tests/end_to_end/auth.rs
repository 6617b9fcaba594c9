//! Each callback authentication mechanism with HMAC, end to end: the custom
//! header, Basic from `user:password@` in the `targetUrl`, and a query token.
//! A receiver configured with another HMAC secret handles nothing: it answers
//! 401, and the server's delivery log records every refused attempt.

use std::time::Duration;

use serde_json::json;
use tripletex_webhooks_client::emulator::DeliveryFilter;
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::types::emulator::{DeliveryRecord, DeliveryStatus};
use tripletex_webhooks_receiver::WebhookConfig;
use tripletex_webhooks_types::{EventPayload, ObjectChange};

use crate::WITHIN;
use crate::app::{App, Log, route};
use crate::tripletex::{Backend, Tripletex};

on_both_backends!(run);

const SECRET: &str = "auth-shared-secret";

async fn run(backend: Backend) {
    let t = Tripletex::start(backend).await;
    let log = Log::default();
    let header = WebhookConfig::builder()
        .header_auth("X-Api-Key", "key-abc")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let basic = WebhookConfig::builder()
        .basic_auth("hook-user", "p@ss word")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let query = WebhookConfig::builder()
        .query_token("token", "q-secret-123")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let wrong = WebhookConfig::builder()
        .header_auth("X-Api-Key", "key-abc")
        .hmac_secret("the-receivers-other-secret")
        .build()
        .unwrap();
    let app = App::start(
        route("/header", &header, &log)
            .merge(route("/basic", &basic, &log))
            .merge(route("/query", &query, &log))
            .merge(route("/wrong", &wrong, &log)),
    )
    .await;

    let event = || "product.create".parse().unwrap();
    let subscriptions = [
        NewSubscription::new(event(), app.url("/header"))
            .with_auth_header("X-Api-Key", "key-abc")
            .with_hmac_secret(SECRET),
        // Sent as `Authorization: Basic` and removed from the URL.
        NewSubscription::new(
            event(),
            format!("http://hook-user:p%40ss%20word@{}/basic", app.authority()),
        )
        .with_hmac_secret(SECRET),
        NewSubscription::new(event(), app.url("/query?token=q-secret-123"))
            .with_hmac_secret(SECRET),
        NewSubscription::new(event(), app.url("/wrong"))
            .with_auth_header("X-Api-Key", "key-abc")
            .with_hmac_secret(SECRET),
    ];
    let created = t
        .client
        .subscriptions()
        .create_many(&subscriptions)
        .await
        .unwrap();
    let ids: Vec<i64> = created.iter().map(|s| s.id.unwrap()).collect();
    let wrong_subscription = ids[3];

    let mut products = Vec::new();
    for name in ["Espresso", "Lungo"] {
        products.push(t.create("product", json!({"name": name})).await);
    }

    let mut created_products: Vec<(i64, String)> = products
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    created_products.sort();
    assert_eq!(
        created_products
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["Espresso", "Lungo"]
    );

    // Each mechanism: both products handled, typed, once per route.
    log.wait_until("both products on the three routes", |all| all.len() >= 6)
        .await;
    for (path, config) in [("/header", &header), ("/basic", &basic), ("/query", &query)] {
        let handled = log.on(path);
        let mut handled_products: Vec<_> = handled
            .iter()
            .map(|h| match &h.payload {
                EventPayload::Product(ObjectChange::Created(p)) => {
                    (p.id.unwrap(), p.name.clone().unwrap())
                }
                other => panic!("{path}: unexpected payload {other:?}"),
            })
            .collect();
        handled_products.sort();
        // The very objects created above (their ids as the server answered).
        assert_eq!(handled_products, created_products, "{path}");
        assert!(
            handled.iter().all(|h| h.idempotency_key.is_some()),
            "{path}"
        );
        let counters = config.snapshot();
        assert_eq!((counters.accepted, counters.unauthorized), (2, 0), "{path}");
    }

    // The wrong secret: refused with 401, nothing handled, the attempts logged.
    let refused = |attempts: usize| {
        move |log: &[DeliveryRecord]| {
            log.len() == 2
                && log
                    .iter()
                    .all(|m| m.status == DeliveryStatus::Pending && m.attempt_log.len() == attempts)
        }
    };
    let wrong_log = DeliveryFilter::new().subscription(wrong_subscription);
    let messages = t
        .emulator
        .wait_for_deliveries(&wrong_log, refused(1), WITHIN)
        .await
        .expect("two refused attempts");
    assert_refused(&messages, 1);
    assert!(log.on("/wrong").is_empty());
    assert!(wrong.snapshot().unauthorized >= 2, "{:?}", wrong.snapshot());

    // The retry a minute later (±10%) is refused and recorded too.
    t.emulator.advance(Duration::from_secs(120)).await.unwrap();
    let messages = t
        .emulator
        .wait_for_deliveries(&wrong_log, refused(2), WITHIN)
        .await
        .expect("the refused retries");
    assert_refused(&messages, 2);
    assert!(log.on("/wrong").is_empty());
    assert_eq!(log.all().len(), 6, "nothing else was handled");

    // The accepted ones were delivered at the first attempt.
    for id in &ids[..3] {
        let messages = t
            .emulator
            .wait_for_deliveries(
                &DeliveryFilter::new().subscription(*id),
                |log| log.len() == 2 && log.iter().all(|m| m.status == DeliveryStatus::Delivered),
                WITHIN,
            )
            .await
            .expect("the deliveries");
        for message in messages {
            assert_eq!(message.attempt_log[0].status_code, Some(200), "{message:?}");
        }
    }
}

fn assert_refused(messages: &[DeliveryRecord], attempts: usize) {
    for message in messages {
        let log = &message.attempt_log;
        assert_eq!(log.len(), attempts, "{message:?}");
        assert!(
            log.iter().all(|attempt| attempt.status_code == Some(401)),
            "every attempt refused with 401: {message:?}"
        );
    }
}
