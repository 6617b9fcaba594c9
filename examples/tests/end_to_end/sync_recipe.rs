//! The guide's recipe for keeping a local copy: subscribe to
//! `product.create/update/delete`, sync all products once with the client's
//! paged stream, then apply webhooks. Other users keep creating and updating
//! products during the sync and create, update and delete afterwards; at the
//! end the local copy equals the server's products (ids, versions, names).
//!
//! Applying is "newer version wins, a delete is final", so a sync page older
//! than a webhook, or a webhook older than a page, changes nothing. Deletes
//! happen only after the paged sync: a delete during one shifts the later
//! pages by one (`from`/`count` paging), which may skip an object until the
//! next full sync, as the guide's nightly sync expects.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::types::models::Product;
use tripletex_webhooks_receiver::{Dispatcher, TripletexWebhookLayer, WebhookConfig};
use tripletex_webhooks_types::ObjectChange;

use crate::app::App;
use crate::tripletex::{Backend, Tripletex};

on_both_backends!(run);

const SECRET: &str = "sync-shared-secret";
const FIELDS: &str = "id,version,name";

/// The integration's copy of the products.
#[derive(Debug, Default)]
struct Local {
    products: BTreeMap<i64, (i64, String)>,
    deleted: BTreeSet<i64>,
    /// Changes applied from webhooks, and from the sync.
    from_webhooks: usize,
    from_sync: usize,
}

impl Local {
    /// Applies an object unless a newer version or its deletion is known.
    fn apply(&mut self, product: &Product) -> bool {
        let id = product.id.unwrap();
        let version = i64::from(product.version.unwrap());
        if self.deleted.contains(&id) {
            return false;
        }
        if self
            .products
            .get(&id)
            .is_some_and(|(known, _)| *known >= version)
        {
            return false;
        }
        let name = product.name.clone().unwrap_or_default();
        self.products.insert(id, (version, name));
        true
    }

    fn delete(&mut self, id: i64) {
        self.products.remove(&id);
        self.deleted.insert(id);
    }
}

async fn run(backend: Backend) {
    let t = Tripletex::start(backend).await;
    let id = |object: &Value| object["id"].as_i64().unwrap();

    // Products that exist before the integration starts.
    let mut ids = Vec::new();
    for n in 0..25 {
        ids.push(id(&t
            .create("product", json!({"name": format!("product {n}")}))
            .await));
    }
    for product in &ids[..5] {
        t.update("product", *product, json!({"name": "renamed before"}))
            .await;
    }

    // The integration: a receiver that applies webhooks to the local copy...
    let local = Arc::new(Mutex::new(Local::default()));
    let applied = Arc::clone(&local);
    let dispatcher = Dispatcher::new().on_product(move |change| {
        let local = Arc::clone(&applied);
        async move {
            let mut local = local.lock().unwrap();
            match &change.payload {
                ObjectChange::Created(product) | ObjectChange::Updated(product) => {
                    if local.apply(product) {
                        local.from_webhooks += 1;
                    }
                }
                ObjectChange::Deleted => {
                    local.delete(change.id);
                    local.from_webhooks += 1;
                }
            }
        }
    });
    let config = WebhookConfig::builder()
        .header_auth("X-Api-Key", "sync-key")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let app = App::start(
        Router::new()
            .route("/sync", post(dispatcher))
            .layer(TripletexWebhookLayer::new(config.clone())),
    )
    .await;

    // ...1. subscribes,
    let desired = ["product.create", "product.update", "product.delete"].map(|event| {
        NewSubscription::new(event.parse().unwrap(), app.url("/sync"))
            .with_fields(FIELDS)
            .with_auth_header("X-Api-Key", "sync-key")
            .with_hmac_secret(SECRET)
    });
    t.client
        .subscriptions()
        .reconcile(desired)
        .apply()
        .await
        .unwrap();

    // 2. syncs everything, page by page, while other users create and update:
    // they start once the sync has its first page, and the sync goes on past
    // it only after the first of their writes, so the two overlap.
    let sync_started = AtomicBool::new(false);
    let sync_finished = AtomicBool::new(false);
    let writes = AtomicUsize::new(0);
    let writes_during_sync = AtomicUsize::new(0);
    let others = async {
        test_support::eventually("the sync to start", || async {
            sync_started.load(Ordering::SeqCst).then_some(())
        })
        .await;
        let mut created = Vec::new();
        for (n, product) in ids.iter().take(10).enumerate() {
            created.push(id(&t
                .create("product", json!({"name": format!("new {n}")}))
                .await));
            t.update(
                "product",
                *product,
                json!({"name": format!("renamed during {n}")}),
            )
            .await;
            if !sync_finished.load(Ordering::SeqCst) {
                writes_during_sync.fetch_add(1, Ordering::SeqCst);
            }
            writes.fetch_add(1, Ordering::SeqCst);
        }
        created
    };
    let sync = async {
        let mut products = t
            .client
            .sync::<Product>("product")
            .fields(FIELDS)
            .page_size(4)
            .objects();
        let mut seen = 0;
        while let Some(product) = products.try_next().await.unwrap() {
            seen += 1;
            {
                let mut local = local.lock().unwrap();
                if local.apply(&product) {
                    local.from_sync += 1;
                }
            }
            if seen == 1 {
                sync_started.store(true, Ordering::SeqCst);
                test_support::eventually("a write during the sync", || async {
                    (writes.load(Ordering::SeqCst) > 0).then_some(())
                })
                .await;
            }
        }
        sync_finished.store(true, Ordering::SeqCst);
        seen
    };
    let (created, synced) = tokio::join!(others, sync);
    assert!(synced >= 25, "the sync saw {synced} products");
    let overlapped = writes_during_sync.load(Ordering::SeqCst);
    assert!(overlapped > 0, "no write overlapped the sync");
    ids.extend(created);

    // 3. applies webhooks while more changes come: updates, deletes, creates.
    for (n, product) in ids.iter().enumerate().step_by(3) {
        t.update(
            "product",
            *product,
            json!({"name": format!("renamed after {n}")}),
        )
        .await;
    }
    for product in [ids[1], ids[7], ids[26], ids[30]] {
        t.delete("product", product).await;
    }
    for n in 0..5 {
        let product = id(&t
            .create("product", json!({"name": format!("late {n}")}))
            .await);
        if n % 2 == 0 {
            t.update(
                "product",
                product,
                json!({"name": format!("late {n}, renamed")}),
            )
            .await;
        }
    }

    // The local copy converges to the server's objects.
    let server = crate::eventually("the local copy to equal the server's products", || async {
        let server: BTreeMap<i64, (i64, String)> = t
            .list("product", FIELDS)
            .await
            .iter()
            .map(|p| {
                let name = p["name"].as_str().unwrap_or_default().to_owned();
                (id(p), (p["version"].as_i64().unwrap(), name))
            })
            .collect();
        (local.lock().unwrap().products == server).then_some(server)
    })
    .await;
    assert_eq!(server.len(), 25 + 10 - 4 + 5);
    let local = local.lock().unwrap();
    assert!(local.from_sync >= 25, "{local:?}");
    assert!(local.from_webhooks >= 4 + 5, "{local:?}");
    assert_eq!(config.snapshot().unauthorized, 0);
}
