//! Payloads kept in their objects, and bodies deflated: a message delivers
//! its object as of its event however the object changed since, the
//! delivery log shows a left-out request body as it was sent, bodies are
//! deflated with their resource's dictionary, and bodies written before
//! (as text, deflated without a dictionary, or with an older dictionary)
//! still read.

use serde_json::{Value, json};
use tripletex_webhooks_types::EventType;
use tripletex_webhooks_types::emulator::{Exchange, MessageRecord, RequestRecord, ResponseRecord};
use tripletex_webhooks_types::fields::FieldsFilter;

use super::tests::{NOW, ctx, order_with_lines, store_with};
use crate::config::Durability;
use crate::delivery::sender::envelope_body;
use crate::store::bodies::{deflate, dictionary as dictionary_of, inflate};
use crate::store::outbox::{AttemptOutcome, Claim, ClaimedMessage, HealthPolicy, NextStep, Outbox};
use crate::store::{
    BodyError, Company, Fields, ObjectRecord, ObjectWrite, SqliteStore, Store, StoreError,
    StoreResult, WriteKind,
};

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
    try_claim(store).await.unwrap()
}

/// Claims every due message.
async fn try_claim(store: &SqliteStore) -> StoreResult<Vec<ClaimedMessage>> {
    store
        .claim_due(Claim {
            now_ms: NOW,
            lease_ms: 60_000,
            candidates: 10,
            skip_subscriptions: &[],
            accept: &mut |_| true,
        })
        .await
}

/// An attempt's stored exchange, its dictionary, `request` and `response`.
type ExchangeRow = (Vec<u8>, Vec<u8>, Option<String>, Option<String>);

/// The stored exchanges of attempts, inflated, by attempt id; the attempts'
/// `request` and `response` columns must be empty.
async fn stored_exchanges(store: &SqliteStore) -> Vec<String> {
    let rows: Vec<ExchangeRow> = sqlx::query_as(
        "SELECT a.exchange_deflated, d.dictionary, a.request, a.response FROM attempts a \
         JOIN body_dictionaries d ON d.id = a.exchange_dictionary ORDER BY a.id",
    )
    .fetch_all(&store.writer)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(deflated, dictionary, request, response)| {
            assert_eq!((request, response), (None, None));
            String::from_utf8(inflate(&deflated, Some(&dictionary)).unwrap()).unwrap()
        })
        .collect()
}

fn payload(message: &ClaimedMessage) -> Value {
    message.payload.clone().unwrap().unwrap()
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
    let stored = stored_exchanges(&store).await;
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

/// The stored columns of object `id`: body text, deflated, dictionary, changes.
async fn stored(store: &SqliteStore, id: i64) -> (String, Option<Vec<u8>>, Option<i64>, String) {
    sqlx::query_as(
        "SELECT body, body_deflated, body_dictionary, changes FROM objects WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&store.writer)
    .await
    .unwrap()
}

/// The id of the stored dictionary of `resource` whose bytes are `bytes`.
async fn dictionary_id(store: &SqliteStore, resource: &str, bytes: &[u8]) -> Option<i64> {
    sqlx::query_scalar("SELECT id FROM body_dictionaries WHERE resource = $1 AND dictionary = $2")
        .bind(resource)
        .bind(bytes.to_vec())
        .fetch_optional(&store.writer)
        .await
        .unwrap()
}

/// The change log of an object created at [`NOW`], as JSON.
const CREATED: &str =
    r#"[{"employeeId":1001,"timestamp":"2023-11-14T22:13:20","changeType":"CREATE"}]"#;

/// Replaces object `id`'s stored body with `deflated` (with `dictionary`)
/// and its `changes` column with `changes` (empty: they are in `deflated`).
async fn plant(
    store: &SqliteStore,
    id: i64,
    deflated: Vec<u8>,
    dictionary: Option<i64>,
    changes: &str,
) {
    sqlx::query(
        "UPDATE objects SET body = '', body_deflated = $1, body_dictionary = $2, changes = $3 \
         WHERE id = $4",
    )
    .bind(deflated)
    .bind(dictionary)
    .bind(changes)
    .bind(id)
    .execute(&store.writer)
    .await
    .unwrap();
}

/// Object `id` as the store reads it: its body and its change log, as JSON.
async fn read(store: &SqliteStore, company: Company, resource: &str, id: i64) -> (Value, Value) {
    let record = store.get_object(company.id, resource, id).await.unwrap();
    let record = record.unwrap();
    let changes = serde_json::to_value(&record.changes).unwrap();
    (Value::Object(record.body), changes)
}

#[tokio::test]
async fn objects_of_every_resource_are_deflated_with_their_change_log_and_dictionary() {
    let (store, company) = store_with(&["order.create"]).await;
    let customer = ObjectWrite {
        resource: "customer",
        kind: WriteKind::Create(Fields {
            values: serde_json::from_value(
                json!({"name": "Kaffebar", "isPrivateIndividual": false}),
            )
            .unwrap(),
            items: Vec::new(),
        }),
        emits: Vec::new(),
    };
    let order = order_with_lines(json!([]), &[0, 1]);
    let product = write(WriteKind::Create(named("Espresso")), "product.create");
    let written = store
        .write_objects(ctx(company), vec![customer, order, product])
        .await
        .unwrap();
    let lines = written[1].body["orderLines"].as_array().unwrap().clone();
    let mut objects: Vec<(&str, i64)> = vec![
        ("customer", written[0].id),
        ("order", written[1].id),
        ("product", written[2].id),
    ];
    objects.extend(
        lines
            .iter()
            .map(|l| ("order/orderline", l["id"].as_i64().unwrap())),
    );
    let created: Value = serde_json::from_str(CREATED).unwrap();
    for (resource, id) in objects {
        let (text, deflated, dictionary, changes) = stored(&store, id).await;
        let expected = dictionary_id(&store, resource, &dictionary_of(resource).unwrap()).await;
        assert_eq!(
            (text.as_str(), dictionary, changes.as_str()),
            ("", expected, ""),
            "{resource}"
        );
        assert!(expected.is_some() && deflated.is_some(), "{resource}");
        let (body, changes) = read(&store, company, resource, id).await;
        assert_eq!(changes, created, "{resource}");
        match written.iter().find(|r| r.id == id) {
            Some(record) => assert_eq!(body, Value::Object(record.body.clone()), "{resource}"),
            None => assert_eq!(body["order"]["id"], written[1].id, "a line points back"),
        }
    }
}

#[tokio::test]
async fn objects_written_before_dictionaries_or_deflating_still_read() {
    let (store, company) = store_with(&["product.update"]).await;
    let id = create_espresso(&store, company).await;
    let created: Value = serde_json::from_str(CREATED).unwrap();
    // The body deflated alone, without a dictionary, its changes beside it.
    let plain = deflate(br#"{"name":"Lungo"}"#, None).unwrap();
    plant(&store, id, plain, None, CREATED).await;
    let lungo = (json!({"name": "Lungo"}), created.clone());
    assert_eq!(read(&store, company, "product", id).await, lungo);
    // Text, as before deflating.
    sqlx::query(r#"UPDATE objects SET body = '{"name":"Doppio"}', body_deflated = NULL"#)
        .execute(&store.writer)
        .await
        .unwrap();
    let doppio = (json!({"name": "Doppio"}), created);
    assert_eq!(read(&store, company, "product", id).await, doppio);
    // An update of such a row delivers its version and stores it anew.
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
            payload(&message)["version"].clone(),
            payload(&message)["changes"].as_array().map(Vec::len),
        ),
        (json!("Ristretto"), json!(1), Some(2))
    );
    let (_, _, dictionary, changes) = stored(&store, id).await;
    assert!(dictionary.is_some() && changes.is_empty(), "stored anew");
}

#[tokio::test]
async fn an_object_compressed_with_an_older_dictionary_reads_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let open = || SqliteStore::connect(&url, Durability::Process, "test/v2");
    let store = open().await.unwrap();
    let company = store.ensure_company("digest").await.unwrap();
    let id = create_espresso(&store, company).await;
    // A dictionary of an earlier release's model data, and a row it compressed.
    let older = br#"[{"id":0,"url":"","name":"","number":"","isInactive":false}"#;
    sqlx::query(
        "INSERT INTO body_dictionaries (resource, digest, dictionary) VALUES ('product', 'older', $1)",
    )
    .bind(older.to_vec())
    .execute(&store.writer)
    .await
    .unwrap();
    let older_id = dictionary_id(&store, "product", older).await;
    let object = format!(r#"[{{"name":"Lungo","isInactive":false}},{CREATED}]"#);
    let deflated = deflate(object.as_bytes(), Some(older)).unwrap();
    plant(&store, id, deflated, older_id, "").await;
    let count = |store: SqliteStore| async move {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM body_dictionaries")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        (store, count)
    };
    let (store, before) = count(store).await;
    drop(store);

    let store = open().await.unwrap();
    let (body, changes) = read(&store, company, "product", id).await;
    assert_eq!(body, json!({"name": "Lungo", "isInactive": false}));
    assert_eq!(changes, serde_json::from_str::<Value>(CREATED).unwrap());
    let (store, after) = count(store).await;
    assert_eq!(before, after, "the current dictionaries are stored once");
    // Written again, the object takes the current dictionary.
    let update = WriteKind::Update {
        id,
        expected_version: Some(0),
        fields: named("Ristretto"),
    };
    store
        .write_objects(ctx(company), vec![write(update, "product.update")])
        .await
        .unwrap();
    let current = dictionary_id(&store, "product", &dictionary_of("product").unwrap()).await;
    assert_eq!(stored(&store, id).await.2, current);
    assert_ne!(current, older_id);
}

#[tokio::test]
async fn an_unknown_dictionary_or_a_corrupt_body_is_an_error() {
    let (store, company) = store_with(&["product.create"]).await;
    let id = create_espresso(&store, company).await;
    let unreadable = |error: StoreError| match error {
        StoreError::Unreadable {
            what: "object",
            id: at,
            reason,
        } if at == id => reason,
        other => panic!("not an unreadable body: {other}"),
    };
    let get = || store.get_object(company.id, "product", id);
    // A dictionary id the database does not hold (its foreign key off, as
    // in a damaged file).
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&store.writer)
        .await
        .unwrap();
    let (_, deflated, _, _) = stored(&store, id).await;
    plant(&store, id, deflated.unwrap(), Some(999), "").await;
    let error = get().await.unwrap_err();
    assert_eq!(unreadable(error), BodyError::UnknownDictionary(999));
    // Claiming renders each payload from the same rows: the unreadable one
    // fails its own message only.
    let other = create_espresso(&store, company).await;
    let mut claimed = claim(&store).await;
    claimed.sort_by_key(|m| m.object_id);
    assert_eq!(
        claimed.iter().map(|m| m.object_id).collect::<Vec<_>>(),
        [id, other]
    );
    let failed = std::mem::replace(&mut claimed[0].payload, Ok(None));
    assert_eq!(
        unreadable(failed.unwrap_err()),
        BodyError::UnknownDictionary(999)
    );
    assert_eq!(payload(&claimed[1])["name"], "Espresso");
    // Bytes that are not DEFLATE, and a cut stream.
    let (_, current, _, _) = stored(&store, other).await;
    for broken in [
        vec![0xff, 0x00, 0xff],
        current.unwrap()[..10].to_vec(),
        Vec::new(),
    ] {
        plant(&store, id, broken, None, "").await;
        let error = get().await.unwrap_err();
        assert!(matches!(unreadable(error), BodyError::Inflate(_)));
    }
    // DEFLATE of JSON that is not `[body, changes]`, or not a body.
    for (json, changes) in [(&b"[1, 2]"[..], ""), (b"{\"name\":", ""), (b"[]", CREATED)] {
        plant(&store, id, deflate(json, None).unwrap(), None, changes).await;
        let error = get().await.unwrap_err();
        assert!(matches!(unreadable(error), BodyError::Json(_)));
    }
}

#[tokio::test]
async fn exchanges_are_deflated_and_those_written_before_still_read() {
    let (store, company) = store_with(&["product.create"]).await;
    create_espresso(&store, company).await;
    let message = claim(&store).await.remove(0);
    let response = ResponseRecord {
        status: 503,
        message: MessageRecord {
            headers: [("server".to_owned(), "test".to_owned())].into(),
            body: "busy".to_owned(),
            body_truncated: false,
        },
    };
    let outcome = AttemptOutcome {
        message_id: message.id,
        subscription_id: message.subscription_id,
        lease_until_ms: message.lease_until_ms,
        attempted_at_ms: NOW,
        duration_ms: 5,
        status_code: Some(503),
        error: Some("503".to_owned()),
        exchange: Exchange {
            request: None,
            response: Some(response.clone()),
        },
        body_rendered: false,
        next: NextStep::RetryAt(NOW),
    };
    let policy = HealthPolicy {
        disable_after_ms: i64::MAX,
    };
    store.record(&[outcome], policy).await.unwrap();
    assert_eq!(
        stored_exchanges(&store).await,
        [
            r#"[null,{"status":503,"headers":{"server":"test"},"body":"busy","bodyTruncated":false}]"#
        ]
    );
    let logged = || async {
        let record = store.delivery(company.id, message.id).await?;
        Ok::<_, StoreError>(record.unwrap().attempt_log.remove(0).exchange.unwrap())
    };
    assert_eq!(logged().await.unwrap().response, Some(response));

    // An attempt as stored before exchanges were deflated.
    sqlx::query(
        r#"UPDATE attempts SET exchange_deflated = NULL, exchange_dictionary = NULL,
               request = '{"url":"https://example.com/hook","body":"old","bodyTruncated":false}',
               response = '{"status":500,"body":"","bodyTruncated":false}'"#,
    )
    .execute(&store.writer)
    .await
    .unwrap();
    let old = logged().await.unwrap();
    assert_eq!(old.request.map(|r| r.message.body).as_deref(), Some("old"));
    assert_eq!(old.response.map(|r| r.status), Some(500));

    // A corrupt one is an error.
    sqlx::query("UPDATE attempts SET exchange_deflated = x'ff00ff'")
        .execute(&store.writer)
        .await
        .unwrap();
    let error = logged().await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Unreadable {
                what: "attempt",
                reason: BodyError::Inflate(_),
                ..
            }
        ),
        "{error}"
    );
}

/// Rewrites object `id`'s stored body with a dictionary a newer release
/// stored after `store` opened (as one sharing the database would), whose
/// bytes end in `tag`.
async fn rewrite_as_newer_release(store: &SqliteStore, id: i64, tag: &str) {
    let (_, deflated, dictionary, _) = stored(store, id).await;
    let used: Vec<u8> =
        sqlx::query_scalar("SELECT dictionary FROM body_dictionaries WHERE id = $1")
            .bind(dictionary)
            .fetch_one(&store.writer)
            .await
            .unwrap();
    let json = inflate(&deflated.unwrap(), Some(&used)).unwrap();
    let mut newer = dictionary_of("product").unwrap();
    newer.extend_from_slice(tag.as_bytes());
    let newer_id: i64 = sqlx::query_scalar(
        "INSERT INTO body_dictionaries (resource, digest, dictionary) VALUES ('product', $1, $2) \
         RETURNING id",
    )
    .bind(tag)
    .bind(newer.clone())
    .fetch_one(&store.writer)
    .await
    .unwrap();
    plant(
        store,
        id,
        deflate(&json, Some(&newer)).unwrap(),
        Some(newer_id),
        "",
    )
    .await;
}

#[tokio::test]
async fn a_dictionary_a_newer_release_stored_since_is_loaded_when_a_row_names_it() {
    let (store, company) = store_with(&["product.create"]).await;
    let id = create_espresso(&store, company).await;
    let name = |record: Option<ObjectRecord>| record.unwrap().body["name"].clone();

    rewrite_as_newer_release(&store, id, "for get").await;
    let got = store.get_object(company.id, "product", id).await.unwrap();
    assert_eq!(name(got), "Espresso");

    rewrite_as_newer_release(&store, id, "for list").await;
    let page = store
        .list_objects(company.id, "product", 0, 10)
        .await
        .unwrap();
    assert_eq!(name(page.values.into_iter().next()), "Espresso");

    rewrite_as_newer_release(&store, id, "for a claim").await;
    assert_eq!(payload(&claim(&store).await[0])["name"], "Espresso");

    rewrite_as_newer_release(&store, id, "for an update").await;
    let update = WriteKind::Update {
        id,
        expected_version: Some(0),
        fields: named("Lungo"),
    };
    let updated = store
        .write_objects(ctx(company), vec![write(update, "product.update")])
        .await
        .unwrap();
    assert_eq!(updated[0].body["name"], "Lungo");
}
