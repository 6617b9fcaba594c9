//! The mirror against the bundled server in-process: backfill, webhooks,
//! resumable backfill, resync repairs and the change feed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{Tripletex, app_listener, builder, local, serve};
use tripletex_webhooks_mirror::{Change, Source};
use tripletex_webhooks_types::Subject;

#[tokio::test]
async fn backfill_converges_then_webhooks_keep_it_fresh() {
    let t = Tripletex::start().await;
    for n in 0..10 {
        t.create(&format!("product {n}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (listener, url) = app_listener().await;
    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&progress);
    let mirror = builder(&t, dir.path(), &url)
        .on_progress(move |p| seen.lock().unwrap().push((p.pages, p.objects, p.done)))
        .build()
        .await
        .unwrap();
    let _app = serve(&mirror, listener);
    let report = mirror.start().await.unwrap();
    assert_eq!(report.subscriptions_created, 3);
    assert_eq!(report.applied, 10);
    assert_eq!(local(&mirror).await, t.products().await);
    let progress = progress.lock().unwrap().clone();
    assert_eq!(
        progress.last().map(|p| (p.1, p.2)),
        Some((10, true)),
        "{progress:?}"
    );
    assert!(progress.len() >= 4, "page size 3: {progress:?}");

    // After the backfill, webhooks bring creates, updates and deletes.
    let ids: Vec<i64> = t.products().await.iter().map(|p| p.0).collect();
    t.update(ids[0], "renamed").await;
    t.delete(ids[1]).await;
    t.create("late").await;
    let server = t.products().await;
    test_support::eventually("the mirror to follow the webhooks", || async {
        (local(&mirror).await == server).then_some(())
    })
    .await;
    let tombstone = mirror
        .store()
        .object("product", ids[1])
        .await
        .unwrap()
        .unwrap();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.source, Source::Webhook);
    // Started again, the complete backfill is not rerun.
    assert_eq!(mirror.start().await.unwrap().applied, 0);
}

#[tokio::test]
async fn an_older_sync_page_never_overwrites_a_newer_webhook() {
    let t = Tripletex::start().await;
    let id = t.create("v0").await;
    let dir = tempfile::tempdir().unwrap();
    let (listener, url) = app_listener().await;
    let mirror = builder(&t, dir.path(), &url).build().await.unwrap();
    let _app = serve(&mirror, listener);
    // The sync page is read (v0) before the update...
    let mut pages = mirror_sync_page(&t).await;
    let old = pages.remove(0);
    mirror.start_subscriptions_only().await;
    let updated = t.update(id, "v1").await;
    let newest = updated["version"].as_i64().unwrap();
    test_support::eventually("the webhook of the update", || async {
        let stored = mirror.store().object("product", id).await.unwrap()?;
        (stored.version == newest).then_some(())
    })
    .await;
    // ...and applied after the webhook: nothing changes.
    let applied = mirror
        .store()
        .apply_object("product", &old, Source::Sync)
        .await
        .unwrap();
    assert!(applied.is_none());
    let stored = mirror.store().object("product", id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.source), (newest, Source::Webhook));
    assert_eq!(stored.data.unwrap()["name"], "v1");
}

/// The first page of products, as a sync reads it.
async fn mirror_sync_page(t: &Tripletex) -> Vec<serde_json::Value> {
    use futures::TryStreamExt as _;
    t.client
        .sync::<serde_json::Value>("product")
        .fields(common::FIELDS)
        .objects()
        .try_collect()
        .await
        .unwrap()
}

trait SubscribeOnly {
    async fn start_subscriptions_only(&self);
}

impl SubscribeOnly for tripletex_webhooks_mirror::Mirror {
    /// `start` on a mirror whose backfill is marked done: subscriptions only.
    async fn start_subscriptions_only(&self) {
        let mark = tripletex_webhooks_mirror::BackfillMark::complete();
        self.store().save_backfill("product", &mark).await.unwrap();
        self.start().await.unwrap();
    }
}

#[tokio::test]
async fn a_restarted_backfill_continues_after_the_last_committed_page() {
    let t = Tripletex::start().await;
    for n in 0..9 {
        t.create(&format!("product {n}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = app_listener().await;
    let first = builder(&t, dir.path(), &url).build().await.unwrap();
    let report = first
        .backfill_subject(&Subject::Product, Some(1))
        .await
        .unwrap();
    assert_eq!((report.pages, report.applied, report.done), (1, 3, false));
    drop(first);

    // A new process on the same file: the committed page is not fetched again.
    let second = builder(&t, dir.path(), &url).build().await.unwrap();
    let report = second
        .backfill_subject(&Subject::Product, None)
        .await
        .unwrap();
    assert_eq!(report.unchanged_pages, 1, "{report:?}");
    assert_eq!(report.applied, 6, "{report:?}");
    assert!(report.done);
    assert_eq!(local(&second).await, t.products().await);
    let mark = second.store().backfill("product").await.unwrap().unwrap();
    // Three full pages and the empty one that ends the list.
    assert_eq!((mark.pages, mark.objects, mark.done), (4, 9, true));
}

#[tokio::test]
async fn resync_repairs_a_missed_update_and_a_missed_delete() {
    let t = Tripletex::start().await;
    let ids = [
        t.create("a").await,
        t.create("b").await,
        t.create("c").await,
    ];
    let dir = tempfile::tempdir().unwrap();
    // Nobody serves the target URL: every webhook is missed.
    let (listener, url) = app_listener().await;
    drop(listener);
    let mirror = builder(&t, dir.path(), &url).build().await.unwrap();
    mirror.start().await.unwrap();
    t.update(ids[0], "a, renamed").await;
    t.delete(ids[1]).await;
    assert_ne!(local(&mirror).await, t.products().await);

    let report = mirror.resync().await.unwrap();
    assert_eq!(
        (
            report.seen,
            report.repaired_updates,
            report.repaired_deletes
        ),
        (2, 1, 1)
    );
    assert_eq!(local(&mirror).await, t.products().await);
    // Nothing left to repair.
    let again = mirror.resync().await.unwrap();
    assert_eq!((again.repaired_updates, again.repaired_deletes), (0, 0));
}

#[tokio::test]
async fn the_change_feed_is_in_order_and_at_least_once() {
    let t = Tripletex::start().await;
    let id = t.create("v0").await;
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = app_listener().await;
    let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
    let seen = Arc::clone(&changes);
    let mirror = builder(&t, dir.path(), &url)
        .on_change(move |c| seen.lock().unwrap().push(c.clone()))
        .build()
        .await
        .unwrap();
    mirror.start().await.unwrap();
    for n in 1..=3 {
        t.update(id, &format!("v{n}")).await;
        mirror.resync().await.unwrap();
    }
    let delivered = changes.lock().unwrap().clone();
    let versions: Vec<_> = delivered
        .iter()
        .map(|c| (c.old_version, c.new_version))
        .collect();
    let chained = versions.windows(2).all(|w| w[1].0 == Some(w[0].1));
    assert!(versions.len() == 4 && chained, "{versions:?}");
    assert!(delivered.windows(2).all(|w| w[0].seq < w[1].seq));

    // Changes committed but not delivered (a crash before the callback) are
    // delivered by the next process.
    t.update(id, "v4").await;
    let object = mirror_sync_page(&t).await.remove(0);
    let pending = mirror
        .store()
        .apply_object("product", &object, Source::Sync)
        .await
        .unwrap();
    let pending = pending.unwrap();
    drop(mirror);
    let redelivered: Arc<Mutex<Vec<Change>>> = Arc::default();
    let seen = Arc::clone(&redelivered);
    let restarted = builder(&t, dir.path(), &url)
        .on_change(move |c| seen.lock().unwrap().push(c.clone()))
        .build()
        .await
        .unwrap();
    assert_eq!(restarted.deliver_changes().await.unwrap(), 1);
    assert_eq!(redelivered.lock().unwrap().as_slice(), [pending]);
    assert_eq!(restarted.deliver_changes().await.unwrap(), 0);
}

#[tokio::test]
async fn health_reenables_a_disabled_subscription_then_resyncs() {
    use tripletex_webhooks_types::SubscriptionStatus;
    let t = Tripletex::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down: deliveries fail until the subscriptions are disabled.
    let (listener, url) = app_listener().await;
    drop(listener);
    let mirror = builder(&t, dir.path(), &url).build().await.unwrap();
    mirror.start().await.unwrap();
    let lost = t.create("lost while down").await;
    test_support::eventually("a failed attempt", || async {
        let log = t
            .emulator(reqwest::Method::GET, "/_emulator/deliveries", None)
            .await;
        let values = log["values"].as_array().cloned().unwrap_or_default();
        values
            .iter()
            .any(|m| m["objectId"] == lost && m["attempts"].as_i64() >= Some(1))
            .then_some(())
    })
    .await;
    let week = serde_json::json!({"seconds": 7.0 * 86_400.0 + 3600.0});
    t.emulator(
        reqwest::Method::POST,
        "/_emulator/clock/advance",
        Some(week),
    )
    .await;
    test_support::eventually("a subscription to be disabled", || async {
        let all = t.client.subscriptions().list().all().await.unwrap();
        all.iter()
            .any(|s| s.status == Some(SubscriptionStatus::DisabledTooManyErrors))
            .then_some(())
    })
    .await;

    let report = mirror.health().await.unwrap();
    assert!(!report.reenabled.is_empty(), "{report:?}");
    assert_eq!(report.resync.repaired_updates, 1, "{report:?}");
    assert_eq!(local(&mirror).await, t.products().await);
    let all = t.client.subscriptions().list().all().await.unwrap();
    assert!(
        all.iter()
            .all(|s| s.status == Some(SubscriptionStatus::Active))
    );
}

#[tokio::test]
async fn a_mirror_without_client_target_or_versioned_fields_is_refused() {
    use tripletex_webhooks_mirror::Mirror;
    let t = Tripletex::start().await;
    let no_client = Mirror::builder()
        .subject(Subject::Product, "*")
        .target_url("http://127.0.0.1:1/hooks")
        .build()
        .await;
    assert!(no_client.unwrap_err().to_string().contains("no client"));
    let dir = tempfile::tempdir().unwrap();
    let no_version = builder(&t, dir.path(), "http://127.0.0.1:1/hooks")
        .subject(Subject::Customer, "id,name")
        .build()
        .await;
    assert!(no_version.unwrap_err().to_string().contains("version"));
    let bad_url = builder(&t, dir.path(), "not a url").build().await;
    assert!(bad_url.unwrap_err().to_string().contains("target URL"));
    let no_list = builder(&t, dir.path(), "http://127.0.0.1:1/hooks")
        .subject(Subject::Notification, "*")
        .build()
        .await;
    assert!(no_list.unwrap_err().to_string().contains("list endpoint"));
}

#[tokio::test]
async fn an_unauthenticated_webhook_is_refused_and_changes_nothing() {
    let t = Tripletex::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (listener, url) = app_listener().await;
    let mirror = builder(&t, dir.path(), &url).build().await.unwrap();
    let _app = serve(&mirror, listener);
    let forged = serde_json::json!({
        "subscriptionId": 1,
        "event": "product.update",
        "id": 5,
        "value": {"id": 5, "version": 99, "name": "forged"}
    });
    let answer = reqwest::Client::new()
        .post(&url)
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(mirror.store().object("product", 5).await.unwrap().is_none());
    assert!(mirror.changed_since(0).await.unwrap().is_empty());
}
