//! The mirror (#21): a cold start that subscribes and backfills 100,000
//! products (10,000 with `--quick`) from the bundled server into a SQLite
//! file, then webhook events applied per second while the server delivers
//! updates of 5,000 of them (1,000 with `--quick`) to the mirror's service.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tripletex_webhooks_client::Client;
use tripletex_webhooks_mirror::{Mirror, Source};
use tripletex_webhooks_types::Subject;

use super::{Local, PATIENCE};
use crate::report::Row;
use crate::stats::{per_second, thousands};
use crate::{BoxError, Res};

const PART: &str = "mirror";
const PAGE: i64 = 1000;

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (objects, updates) = if quick {
        (10_000, 1_000)
    } else {
        (100_000, 5_000)
    };
    let local = Local::start().await?;
    let token = local.server.create_session_token(0).await?;
    let writer = Writer::new(local.server.base_url().clone(), token.expose_secret())?;
    eprintln!("   seeding {objects} products");
    let ids = writer.create_many(objects).await?;

    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = format!("http://{}/mirror/webhooks", listener.local_addr()?);
    let applied = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&applied);
    let client = Client::builder()
        .base_url(local.server.base_url())
        .session_token(token)
        .build()?;
    let mirror = Mirror::builder()
        .client(client)
        .subject(Subject::Product, "id,version,name")
        .target_url(&target)
        .hmac_secret("bench-mirror-secret")
        .store_url(format!(
            "sqlite://{}",
            dir.path().join("mirror.db").display()
        ))
        .propagation(Duration::ZERO)
        .page_size(PAGE)
        .on_change(move |change| {
            if change.source == Source::Webhook {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()
        .await?;
    let service = mirror.webhooks()?;
    let server = tokio::spawn(async move { axum::serve(listener, service).await });

    eprintln!("   cold start: subscribe and backfill");
    let started = Instant::now();
    let report = mirror.start().await?;
    let converged = started.elapsed();
    if report.applied != objects {
        return Err(format!("the backfill applied {} of {objects}", report.applied).into());
    }

    eprintln!("   {updates} updates delivered as webhooks");
    let first = Instant::now();
    writer.update_all(&ids[..updates], 4).await?;
    let written = first.elapsed();
    wait_for(&applied, updates, PATIENCE).await?;
    let delivered = first.elapsed();
    server.abort();
    local.stop().await?;

    let objects = crate::stats::count(objects);
    let updates = crate::stats::count(updates);
    Ok(vec![
        Row::info(
            PART,
            format!("cold-start backfill of {objects} products (pages of {PAGE}, SQLite file)"),
            format!(
                "**{}** objects/s",
                thousands(per_second(objects, converged))
            ),
        ),
        Row::info(
            PART,
            format!("time to converge {objects} products from a cold start (subscribe, backfill)"),
            format!("**{:.1} s**", converged.as_secs_f64()),
        ),
        Row::info(
            PART,
            format!(
                "webhook events applied, {updates} product updates delivered by the server \
                 (updates written in {:.1} s)",
                written.as_secs_f64()
            ),
            format!("**{}** events/s", thousands(per_second(updates, delivered))),
        ),
    ])
}

/// Waits until `applied` reaches `count`.
async fn wait_for(applied: &AtomicU64, count: usize, patience: Duration) -> Res<()> {
    let count = crate::stats::count(count);
    let deadline = Instant::now() + patience;
    while applied.load(Ordering::Relaxed) < count {
        if Instant::now() > deadline {
            let seen = applied.load(Ordering::Relaxed);
            return Err(format!("only {seen} of {count} webhooks applied").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Raw product writes, as other users of the company make them.
#[derive(Clone)]
struct Writer {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Writer {
    fn new(base: String, token: &str) -> Res<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            http,
            base,
            token: token.to_owned(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Res<Value> {
        let response = request.basic_auth("0", Some(&self.token)).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("{status}: {body}").into());
        }
        Ok(body)
    }

    /// Creates `count` products, 1,000 per bulk request; their ids.
    async fn create_many(&self, count: usize) -> Res<Vec<i64>> {
        let mut ids = Vec::with_capacity(count);
        for start in (0..count).step_by(1000) {
            let body: Vec<Value> = (start..count.min(start + 1000))
                .map(|n| json!({"name": format!("mirrored product {n}")}))
                .collect();
            let url = format!("{}/product/list", self.base);
            let created = self.send(self.http.post(url).json(&body)).await?;
            let values = created["values"].as_array().ok_or("no values")?;
            ids.extend(values.iter().filter_map(|v| v["id"].as_i64()));
        }
        Ok(ids)
    }

    /// Renames each product, `in_flight` requests at once.
    async fn update_all(&self, ids: &[i64], in_flight: usize) -> Res<()> {
        let mut tasks = JoinSet::new();
        for &id in ids {
            if tasks.len() >= in_flight {
                if let Some(done) = tasks.join_next().await {
                    done??;
                }
            }
            let writer = self.clone();
            tasks.spawn(async move {
                let url = format!("{}/product/{id}", writer.base);
                let body = json!({"name": format!("renamed {id}")});
                // The server's SQLite file can be busy under concurrent
                // writes: a failed update is tried again, twice at most.
                let mut tries = 0;
                loop {
                    tries += 1;
                    match writer.send(writer.http.put(&url).json(&body)).await {
                        Ok(_) => return Ok(()),
                        Err(error) if tries >= 3 => return Err(error),
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(BoxError::from)??;
        }
        Ok(())
    }
}
