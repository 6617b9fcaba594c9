//! Chaos, in-process: two subjects, other clients creating, updating and
//! deleting during the backfill, the app's receiver down for a while (its
//! deliveries fail), then up again. After a resync the local copy equals the
//! server's object by object, and the change feed shows that no stored
//! version ever went backwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use common::{Tripletex, app_listener, local_rows};
use tripletex_webhooks_mirror::Mirror;
use tripletex_webhooks_types::Subject;

const SUBJECTS: [(&str, Subject); 2] = [
    ("product", Subject::Product),
    ("customer", Subject::Customer),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_converges_whatever_happens() {
    let t = Tripletex::start().await;
    let mut ids: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (path, _) in SUBJECTS {
        for n in 0..40 {
            ids.entry(path)
                .or_default()
                .push(t.create_in(path, &format!("{path} {n}")).await);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (listener, url) = app_listener().await;
    let mut builder = Mirror::builder()
        .client(t.client.clone())
        .target_url(&url)
        .auth_header("X-Api-Key", "chaos-key")
        .hmac_secret("chaos-secret")
        .store_url(format!(
            "sqlite://{}",
            dir.path().join("mirror.db").display()
        ))
        .propagation(std::time::Duration::ZERO)
        .page_size(7);
    for (_, subject) in SUBJECTS {
        builder = builder.subject(subject, common::FIELDS);
    }
    let mirror = builder.build().await.unwrap();

    // The receiver answers 503 while `down`.
    let down = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&down);
    let router = mirror.webhooks().unwrap().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let down = switch.load(Ordering::SeqCst);
            async move {
                if down {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    next.run(request).await
                }
            }
        },
    ));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // Other clients write during the backfill, with the receiver down for
    // the second half.
    let others = async {
        for round in 0..20_usize {
            if round == 10 {
                down.store(true, Ordering::SeqCst);
            }
            for (path, _) in SUBJECTS {
                let list = &ids[path];
                t.update_in(path, list[round % 30], &format!("round {round}"))
                    .await;
                t.update_in(path, list[(round * 3 + 1) % 30], &format!("again {round}"))
                    .await;
                if round % 4 == 0 {
                    t.delete_in(path, list[30 + round / 4]).await;
                }
                t.create_in(path, &format!("{path} new {round}")).await;
            }
        }
    };
    let (started, ()) = tokio::join!(mirror.start(), others);
    started.unwrap();
    down.store(false, Ordering::SeqCst);

    let report = mirror.resync().await.unwrap();
    for (path, _) in SUBJECTS {
        assert_eq!(
            local_rows(&mirror, path).await,
            t.list(path).await,
            "{path}: {report:?}"
        );
    }
    // Every change in the feed moves its object's version forward (a delete
    // keeps it), each starting where the previous one ended.
    let mut last: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut seq = 0;
    loop {
        let changes = mirror.changed_since(seq).await.unwrap();
        let Some(end) = changes.last().map(|c| c.seq) else {
            break;
        };
        for c in changes {
            let key = (c.subject.clone(), c.id);
            assert_eq!(c.old_version, last.get(&key).copied(), "{c:?}");
            assert!(
                c.old_version
                    .is_none_or(|old| c.new_version > old || c.deleted),
                "{c:?}"
            );
            last.insert(key, c.new_version);
        }
        seq = end;
    }
    assert!(
        report.repaired_updates + report.repaired_deletes > 0,
        "{report:?}"
    );
}
