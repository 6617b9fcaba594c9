//! Payloads kept in their objects, and bodies deflated: a message delivers
//! its object as of its event however the object changed since, the
//! delivery log shows a left-out request body as it was sent, and bodies
//! written before they were deflated still read.

use serde_json::{Value, json};
use tripletex_webhooks_types::EventType;
use tripletex_webhooks_types::emulator::{Exchange, MessageRecord, RequestRecord};
use tripletex_webhooks_types::fields::FieldsFilter;

use super::tests::{NOW, ctx, store_with};
use crate::delivery::sender::envelope_body;
use crate::store::outbox::{AttemptOutcome, Claim, ClaimedMessage, HealthPolicy, NextStep, Outbox};
use crate::store::{Company, Fields, ObjectWrite, SqliteStore, Store, WriteKind};

fn write(kind: WriteKind, event: &str) -> ObjectWrite {
    let emits: Vec<EventType> = vec![event.parse().unwrap()];
    ObjectWrite {
        resource: "product",
        kind,
        emits,
    }
}

fn named(name: &str) -> Fields {
    Fields {
        values: serde_json::from_value(json!({"name": name})).unwrap(),
        items: Vec::new(),
    }
}

/// Creates the product "Espresso" (emitting `product.create`); its id.
async fn create_espresso(store: &SqliteStore, company: Company) -> i64 {
    let create = write(WriteKind::Create(named("Espresso")), "product.create");
    store
        .write_objects(ctx(company), vec![create])
        .await
        .unwrap()[0]
        .id
}

async fn claim(store: &SqliteStore) -> Vec<ClaimedMessage> {
    store
        .claim_due(Claim {
            now_ms: NOW,
            lease_ms: 60_000,
            candidates: 10,
            skip_subscriptions: &[],
            accept: &mut |_| true,
        })
        .await
        .unwrap()
}

fn payload(message: &ClaimedMessage) -> Value {
    message.payload.clone().unwrap()
}

/// The stored copies of payloads, by message id.
async fn copies(store: &SqliteStore) -> Vec<Option<String>> {
    sqlx::query_scalar("SELECT payload FROM messages ORDER BY id")
        .fetch_all(&store.writer)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_message_delivers_the_version_of_its_event_after_updates_and_deletes() {
    let (store, company) = store_with(&["product.create"]).await;
    let created = store
        .write_objects(
            ctx(company),
            vec![
                write(WriteKind::Create(named("Espresso")), "product.create"),
                write(WriteKind::Create(named("Ristretto")), "product.create"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        copies(&store).await,
        [None, None],
        "no copy of a stored object"
    );
    let (updated, deleted) = (created[0].id, created[1].id);
    let update = WriteKind::Update {
        id: updated,
        expected_version: Some(0),
        fields: named("Lungo"),
    };
    let later = vec![
        write(update, "product.update"),
        write(WriteKind::Delete { id: deleted }, "product.delete"),
    ];
    store.write_objects(ctx(company), later).await.unwrap();

    let claimed = claim(&store).await;
    let shown: Vec<(Value, Value)> = claimed
        .iter()
        .map(|m| (payload(m)["name"].clone(), payload(m)["version"].clone()))
        .collect();
    assert_eq!(
        shown,
        [
            (json!("Espresso"), json!(0)),
            (json!("Ristretto"), json!(0))
        ]
    );
    let current = store
        .get_object(company.id, "product", updated)
        .await
        .unwrap();
    assert_eq!(current.unwrap().body["name"], "Lungo");
}

#[tokio::test]
async fn a_left_out_request_body_is_shown_as_sent_and_a_filtered_one_is_kept() {
    let (store, company) = store_with(&["product.create"]).await;
    let id = create_espresso(&store, company).await;
    let message = claim(&store).await.remove(0);
    let value = FieldsFilter::default().apply(&payload(&message));
    let envelope = envelope_body(message.subscription_id, message.event.clone(), id, value);
    let sent = String::from_utf8(envelope.unwrap()).unwrap();
    let request = |body: &str| RequestRecord {
        url: "https://example.com/hook".to_owned(),
        message: MessageRecord {
            headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
            body: body.to_owned(),
            body_truncated: false,
        },
    };
    let outcome = |body: &str, body_rendered: bool, lease_until_ms: i64| AttemptOutcome {
        message_id: message.id,
        subscription_id: message.subscription_id,
        lease_until_ms,
        attempted_at_ms: NOW,
        duration_ms: 5,
        status_code: Some(500),
        error: Some("500".to_owned()),
        exchange: Exchange {
            request: Some(request(body)),
            response: None,
        },
        body_rendered,
        next: NextStep::RetryAt(NOW),
    };
    let policy = HealthPolicy {
        disable_after_ms: i64::MAX,
    };
    let first = outcome(&sent, true, message.lease_until_ms);
    store.record(&[first], policy).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT request FROM attempts")
        .fetch_all(&store.writer)
        .await
        .unwrap();
    assert!(!stored[0].contains("Espresso"), "{}", stored[0]);
    // A body shaped by a `fields` filter is not the envelope: it is kept.
    sqlx::query("UPDATE messages SET lease_until_ms = NULL")
        .execute(&store.writer)
        .await
        .unwrap();
    let again = claim(&store).await.remove(0);
    let filtered = r#"{"value":{"name":"Espresso"}}"#;
    let second = outcome(filtered, false, again.lease_until_ms);
    store.record(&[second], policy).await.unwrap();
    let update = WriteKind::Update {
        id,
        expected_version: None,
        fields: named("Lungo"),
    };
    let changed = write(update, "product.update");
    store
        .write_objects(ctx(company), vec![changed])
        .await
        .unwrap();

    let logged = store
        .delivery(company.id, message.id)
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<&str> = logged
        .attempt_log
        .iter()
        .map(|a| a.exchange.as_ref().unwrap().request.as_ref().unwrap())
        .map(|r| r.message.body.as_str())
        .collect();
    assert_eq!(bodies, [sent.as_str(), filtered]);
}

#[tokio::test]
async fn bodies_are_stored_deflated_and_those_written_before_still_read() {
    let (store, company) = store_with(&["product.update"]).await;
    let id = create_espresso(&store, company).await;
    let (text, deflated): (String, Option<Vec<u8>>) =
        sqlx::query_as("SELECT body, body_deflated FROM objects WHERE id = $1")
            .bind(id)
            .fetch_one(&store.writer)
            .await
            .unwrap();
    assert_eq!(text, "");
    let inflated = miniz_oxide::inflate::decompress_to_vec(&deflated.unwrap()).unwrap();
    assert_eq!(inflated, br#"{"name":"Espresso"}"#);

    // An object as a database written before deflating holds it.
    sqlx::query(r#"UPDATE objects SET body = '{"name":"Lungo"}', body_deflated = NULL"#)
        .execute(&store.writer)
        .await
        .unwrap();
    let read = store.get_object(company.id, "product", id).await.unwrap();
    assert_eq!(read.unwrap().body["name"], "Lungo");
    let update = WriteKind::Update {
        id,
        expected_version: Some(0),
        fields: named("Ristretto"),
    };
    let updated = write(update, "product.update");
    store
        .write_objects(ctx(company), vec![updated])
        .await
        .unwrap();
    let message = claim(&store).await.remove(0);
    assert_eq!(
        (
            payload(&message)["name"].clone(),
            payload(&message)["version"].clone()
        ),
        (json!("Ristretto"), json!(1))
    );
    // A stored body that is not deflate is an error, not a panic.
    sqlx::query("UPDATE objects SET body_deflated = x'ff00ff'")
        .execute(&store.writer)
        .await
        .unwrap();
    let error = store
        .get_object(company.id, "product", id)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("inflating"), "{error}");
}
