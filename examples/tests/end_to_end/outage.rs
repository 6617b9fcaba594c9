//! The receiver is down while events pile up; it comes back (a new process
//! over the same durable dedup store) and the server's retries, fired by
//! moving its clock, deliver everything: each object's changes are handled
//! once and in version order, ending at the server's state. Every event is
//! subscribed twice and every delivered message is sent again at the end: the
//! receiver's dedup drops all those repeats.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tripletex_webhooks_client::emulator::DeliveryFilter;
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::types::emulator::{DeliveryRecord, DeliveryStatus};
use tripletex_webhooks_receiver::{SqliteStore, WebhookConfig};

use crate::WITHIN;
use crate::app::{App, Handled, Log, route};
use crate::tripletex::{Backend, Tripletex};

on_both_backends!(run);

const SECRET: &str = "outage-shared-secret";

/// The receiver's configuration as a fresh process builds it, over the
/// SQLite dedup store it keeps across restarts.
async fn config(dedup: &Path) -> WebhookConfig {
    let store = SqliteStore::connect(&format!("sqlite://{}", dedup.display()))
        .await
        .unwrap();
    WebhookConfig::builder()
        .header_auth("X-Api-Key", "outage-key")
        .hmac_secret(SECRET)
        .store(store)
        .build()
        .unwrap()
}

async fn run(backend: Backend) {
    let t = Tripletex::start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let dedup = dir.path().join("dedup.db");
    let log = Log::default();
    let before = config(&dedup).await;
    let mut app = App::start(route("/hooks", &before, &log)).await;

    // Every product event twice (say, two deploys of the integration that
    // both subscribed): each change arrives twice.
    let mut subscriptions = Vec::new();
    for _ in 0..2 {
        for event in ["product.create", "product.update", "product.delete"] {
            subscriptions.push(
                NewSubscription::new(event.parse().unwrap(), app.url("/hooks"))
                    .with_fields("id,version,name")
                    .with_auth_header("X-Api-Key", "outage-key")
                    .with_hmac_secret(SECRET),
            );
        }
    }
    t.client
        .subscriptions()
        .create_many(&subscriptions)
        .await
        .unwrap();

    // Up: the first product is handled once.
    let first = t.create("product", json!({"name": "p0 v0"})).await;
    log.wait_until("the first product", |all| !all.is_empty())
        .await;
    let everything = DeliveryFilter::new();
    t.emulator
        .wait_for_deliveries(
            &everything,
            |log| log.len() == 2 && log.iter().all(|m| m.status == DeliveryStatus::Delivered),
            WITHIN,
        )
        .await
        .expect("both deliveries of the first product");
    let id = |object: &Value| object["id"].as_i64().unwrap();
    let mut ids = vec![id(&first)];

    // Down: changes pile up.
    app.stop().await;
    for n in 1..5 {
        ids.push(id(&t
            .create("product", json!({"name": format!("p{n} v0")}))
            .await));
    }
    for round in 1..=3 {
        for (n, product) in ids.iter().enumerate() {
            t.update(
                "product",
                *product,
                json!({"name": format!("p{n} v{round}")}),
            )
            .await;
        }
    }
    t.delete("product", ids[1]).await;
    t.delete("product", ids[3]).await;
    let late = id(&t.create("product", json!({"name": "p5 v0"})).await);
    t.update("product", late, json!({"name": "p5 v1"})).await;
    ids.push(late);

    // Every message still to send has failed once (the connection refused).
    let pending = |m: &&DeliveryRecord| m.status == DeliveryStatus::Pending;
    let log_before = t
        .emulator
        .wait_for_deliveries(
            &everything,
            |messages| messages.iter().filter(pending).all(|m| m.attempts >= 1),
            WITHIN,
        )
        .await
        .expect("every pending message to fail once");
    let pending_count = log_before.iter().filter(pending).count();
    assert!(pending_count >= 12, "pending: {pending_count}");
    assert!(
        log_before
            .iter()
            .filter(pending)
            .all(|m| m.attempt_log[0].status_code.is_none() && m.attempt_log[0].error.is_some()),
        "{log_before:#?}"
    );
    assert_eq!(log.all().len(), 1, "nothing handled while down");

    // Back up, as a new process over the same dedup store; the retries are
    // due a minute (±10%) after the failures.
    let after = config(&dedup).await;
    app.start_again(route("/hooks", &after, &log)).await;
    t.emulator.advance(Duration::from_secs(120)).await.unwrap();
    let done = t
        .emulator
        .wait_for_deliveries(
            &everything,
            |messages| {
                messages.iter().all(|m| {
                    matches!(
                        m.status,
                        DeliveryStatus::Delivered | DeliveryStatus::Superseded
                    )
                })
            },
            WITHIN,
        )
        .await
        .expect("every message delivered or superseded");

    // What the outage left pending went out on a retry, after a refused attempt.
    let delivered: Vec<&DeliveryRecord> = done
        .iter()
        .filter(|m| m.status == DeliveryStatus::Delivered)
        .collect();
    let retried = delivered
        .iter()
        .filter(|m| {
            let attempts = &m.attempt_log;
            attempts.len() >= 2
                && attempts[0].error.is_some()
                && attempts.last().unwrap().status_code == Some(200)
        })
        .count();
    assert_eq!(
        retried,
        delivered.len() - 2,
        "all but the first product's two creates: {done:#?}"
    );

    // The server's truth: the living products and their versions.
    let living: BTreeMap<i64, i64> = t
        .list("product", "id,version")
        .await
        .iter()
        .map(|p| (id(p), p["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(living.len(), 4);
    let handled = log.all();
    check_histories(&handled, &ids, &living);
    let counters = after.snapshot();
    assert!(
        counters.duplicate + counters.stale > 0,
        "the twin subscriptions' repeats were dropped: {counters:?}"
    );

    // Every delivered message once more (same idempotency key): all repeats.
    let delivered: Vec<i64> = delivered.iter().map(|m| m.id).collect();
    let repeats_before = counters.duplicate + counters.stale;
    for message in &delivered {
        t.emulator.redeliver(*message).await.unwrap();
    }
    // They all go to the new process, whose store remembers even what the
    // first one handled.
    let resent = u64::try_from(delivered.len()).unwrap();
    crate::eventually("the redeliveries to be acknowledged", || async {
        let counters = after.snapshot();
        (counters.duplicate + counters.stale >= repeats_before + resent).then_some(())
    })
    .await;
    assert_eq!(
        log.all().len(),
        handled.len(),
        "no repeat reached a handler"
    );
}

/// Per object: handled in strictly increasing version order, each version
/// once, a delete last, ending at the server's state.
fn check_histories(handled: &[Handled], ids: &[i64], living: &BTreeMap<i64, i64>) {
    for id in ids {
        let history: Vec<&Handled> = handled.iter().filter(|h| h.id == *id).collect();
        assert!(!history.is_empty(), "product {id} was never handled");
        let (deletes, changes): (Vec<&Handled>, Vec<&Handled>) =
            history.iter().partition(|h| h.is_delete());
        let versions: Vec<i64> = changes.iter().map(|h| h.version.unwrap()).collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "product {id}: versions {versions:?} not strictly increasing"
        );
        if let Some(version) = living.get(id) {
            assert!(deletes.is_empty(), "product {id} lives");
            assert_eq!(
                versions.last(),
                Some(version),
                "product {id}: the last version"
            );
        } else {
            assert_eq!(deletes.len(), 1, "product {id}: one delete handled");
            assert!(
                history.last().unwrap().is_delete(),
                "product {id}: the delete last"
            );
        }
    }
}
