//! The version rule and the change feed of the store, on SQLite and (with
//! `DATABASE_URL`) PostgreSQL: every interleaving of webhook and sync writes
//! ends with the newest version, never a regression.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::json;
use tripletex_webhooks_mirror::{Source, Store};

fn clock() -> tripletex_webhooks_mirror::Clock {
    Arc::new(|| 1_700_000_000_000)
}

/// A subject name of its own, so runs on a shared database do not meet.
fn subject(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{nanos}")
}

async fn version_rule(store: &Store) {
    let s = subject("product");
    let v = |version: i64, name: &str| json!({"id": 7, "version": version, "name": name});
    // A webhook with v2 first, then an older sync page with v1: ignored.
    let first = store
        .apply_object(&s, &v(2, "webhook"), Source::Webhook)
        .await
        .unwrap();
    assert_eq!(first.unwrap().old_version, None);
    assert!(
        store
            .apply_object(&s, &v(1, "sync"), Source::Sync)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .apply_object(&s, &v(2, "same"), Source::Sync)
            .await
            .unwrap()
            .is_none()
    );
    let stored = store.object(&s, 7).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.source), (2, Source::Webhook));
    assert_eq!(stored.data.unwrap()["name"], "webhook");
    // A newer sync page wins.
    let change = store
        .apply_object(&s, &v(3, "sync"), Source::Sync)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((change.old_version, change.new_version), (Some(2), 3));
    // A delete tombstones; an older or equal update after it changes nothing.
    let deleted = store
        .apply_delete(&s, 7, Source::Webhook)
        .await
        .unwrap()
        .unwrap();
    assert!(deleted.deleted);
    assert!(
        store
            .apply_delete(&s, 7, Source::Webhook)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .apply_object(&s, &v(2, "late"), Source::Webhook)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .apply_object(&s, &v(3, "late"), Source::Sync)
            .await
            .unwrap()
            .is_none()
    );
    let stored = store.object(&s, 7).await.unwrap().unwrap();
    assert!(stored.deleted && stored.data.is_none() && stored.version == 3);
    // Only a newer version resurrects it.
    assert!(
        store
            .apply_object(&s, &v(4, "back"), Source::Sync)
            .await
            .unwrap()
            .is_some()
    );
    // A delete of an unknown object leaves a tombstone that v0 cannot pass.
    assert!(
        store
            .apply_delete(&s, 8, Source::Webhook)
            .await
            .unwrap()
            .is_some()
    );
    let created = json!({"id": 8, "version": 0, "name": "late create"});
    assert!(
        store
            .apply_object(&s, &created, Source::Webhook)
            .await
            .unwrap()
            .is_none()
    );
    // The feed has each applied change, in order.
    let feed: Vec<_> = store
        .changed_since(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.subject == s)
        .map(|c| (c.id, c.old_version, c.new_version, c.deleted, c.source))
        .collect();
    assert_eq!(
        feed,
        [
            (7, None, 2, false, Source::Webhook),
            (7, Some(2), 3, false, Source::Sync),
            (7, Some(3), 3, true, Source::Webhook),
            (7, Some(3), 4, false, Source::Sync),
            (8, None, 0, true, Source::Webhook),
        ]
    );
}

async fn refuses_objects_without_a_version(store: &Store) {
    let s = subject("product");
    let error = store
        .apply_object(&s, &json!({"id": 1, "name": "no version"}), Source::Sync)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("version"), "{error}");
    assert!(store.object(&s, 1).await.unwrap().is_none());
}

/// Concurrent writers of random versions: the stored version is the maximum.
async fn concurrent_writers_never_regress(store: &Store) {
    let s = subject("product");
    let mut tasks = Vec::new();
    for writer in 0..8_i64 {
        let (store, s) = (store.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            for step in 0..20_i64 {
                let version = (step * 7 + writer * 13) % 50;
                let source = if writer % 2 == 0 {
                    Source::Webhook
                } else {
                    Source::Sync
                };
                store
                    .apply_object(&s, &json!({"id": 1, "version": version}), source)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.object(&s, 1).await.unwrap().unwrap().version, 49);
    let versions: Vec<i64> = store
        .changed_since(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.subject == s)
        .map(|c| c.new_version)
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
}

async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::open(&url, clock()).await.unwrap();
    (dir, store)
}

async fn postgres() -> Option<Store> {
    let url = test_support::services::url("DATABASE_URL")?;
    Some(Store::open(&url, clock()).await.unwrap())
}

#[tokio::test]
async fn sqlite_version_rule() {
    let (_dir, store) = sqlite().await;
    version_rule(&store).await;
    refuses_objects_without_a_version(&store).await;
    concurrent_writers_never_regress(&store).await;
}

#[tokio::test]
async fn postgres_version_rule() {
    let Some(store) = postgres().await else {
        return;
    };
    version_rule(&store).await;
    refuses_objects_without_a_version(&store).await;
    concurrent_writers_never_regress(&store).await;
}

#[tokio::test]
async fn a_store_url_of_another_engine_is_refused() {
    let error = Store::open("mysql://localhost/db", clock())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("configuration"), "{error}");
}
