//! Part: the receiver with its durable inbox on SQLite, beside the
//! in-memory receiver. The same route and load as the receiver part (64
//! connections, signed ~1.5 KB `product.update` envelopes, every delivery
//! a fresh version): (b) behind `TripletexWebhookLayer` with the in-memory
//! dedup store, the handler in the request; (c) the same layer with an
//! `Inbox` on a SQLite file (WAL, `synchronous=FULL`) and `SqliteStore`
//! dedup in the same file: the request is answered once the delivery is
//! stored, and the inbox's workers (8) run the handler meanwhile.
//! Acknowledged deliveries/s is the load's rate; handled/s is every
//! acknowledged delivery over the time from the load's start until the
//! inbox has handled the last of them.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tripletex_webhooks_bench::receiver_routes;
use tripletex_webhooks_receiver::inbox::Inbox;
use tripletex_webhooks_receiver::store::SqliteStore;
use tripletex_webhooks_receiver::{TripletexWebhookLayer, WebhookConfig};

use super::PATIENCE;
use super::receiver::{Load, load, serve};
use crate::Res;
use crate::report::Row;
use crate::stats::{ms, per_second, thousands};

const PART: &str = "inbox";

/// What one inbox run measured.
#[derive(Default)]
struct Drained {
    acknowledged: Load,
    /// From the load's start until the last acknowledged delivery was handled.
    handled_in: Duration,
    /// Still pending when the load stopped, summed over runs.
    pending_at_end: u64,
}

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (rounds, seconds) = if quick {
        (1, Duration::from_secs(2))
    } else {
        (3, Duration::from_secs(3))
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .http1_only()
        .build()?;
    let epoch = AtomicU64::new(0);
    let mut memory = Load::default();
    let mut inbox = Drained::default();
    for round in 1..=rounds {
        eprintln!("   round {round}/{rounds}: (b) in-memory receiver");
        let config = receiver_routes::config()?;
        let served = serve(receiver_routes::layered(config)).await?;
        load(&http, &served.url, Duration::from_millis(500), &epoch).await?;
        memory.add(&load(&http, &served.url, seconds, &epoch).await?);
        drop(served);
        eprintln!("   round {round}/{rounds}: (c) SQLite inbox");
        let run = with_inbox(&http, seconds, &epoch).await?;
        inbox.acknowledged.add(&run.acknowledged);
        inbox.handled_in += run.handled_in;
        inbox.pending_at_end += run.pending_at_end;
    }
    let acknowledged = &inbox.acknowledged;
    let handled = per_second(acknowledged.requests, inbox.handled_in);
    let what = format!("64 connections, {rounds} × {} s", seconds.as_secs());
    Ok(vec![
        Row::info(
            PART,
            format!(
                "(b) in-memory receiver, the handler in the request: requests/s, p50 / p99 ({what})"
            ),
            format!(
                "{}/s, {} / {}",
                thousands(memory.rate()),
                ms(memory.latencies.p50()),
                ms(memory.latencies.p99())
            ),
        ),
        Row::info(
            PART,
            "(c) the same layer with the SQLite inbox (stored and committed, then 200; SqliteStore dedup in the same file): acknowledged deliveries/s, p50 / p99",
            format!(
                "{}/s, {} / {} ({:.2} × b)",
                thousands(acknowledged.rate()),
                ms(acknowledged.latencies.p50()),
                ms(acknowledged.latencies.p99()),
                acknowledged.rate() / memory.rate().max(1e-9)
            ),
        ),
        Row::info(
            PART,
            "(c) handled/s from the SQLite inbox (8 workers, per object in version order, dedup claimed and recorded per event)",
            format!(
                "{}/s ({} acknowledged, every one handled; {} still pending when the load stopped)",
                thousands(handled),
                thousands(crate::stats::to_f64(acknowledged.requests)),
                thousands(crate::stats::to_f64(inbox.pending_at_end)),
            ),
        ),
    ])
}

/// One load on a fresh inbox, then the wait until it handled everything.
async fn with_inbox(http: &reqwest::Client, seconds: Duration, epoch: &AtomicU64) -> Res<Drained> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let inbox = Inbox::open(&url).await?;
    let store = SqliteStore::connect(&url).await?;
    let config = WebhookConfig::builder()
        .header_auth(receiver_routes::AUTH_HEADER, receiver_routes::AUTH_VALUE)
        .hmac_secret(receiver_routes::HMAC_SECRET)
        .store(store)
        .build()?;
    let app = receiver_routes::bare()
        .route_layer(TripletexWebhookLayer::new(config.clone()).inbox(inbox.clone()));
    let workers = inbox.start(config.clone(), app.clone());
    let served = serve(app).await?;
    let started = Instant::now();
    let acknowledged = load(http, &served.url, seconds, epoch).await?;
    let (pending_at_end, _) = inbox.depth().await?;
    let deadline = started + PATIENCE;
    while config.snapshot().accepted < acknowledged.requests {
        if Instant::now() > deadline {
            return Err(format!(
                "the inbox did not drain within {PATIENCE:?}: {:?}",
                config.snapshot()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let handled_in = started.elapsed();
    let counters = config.snapshot();
    if counters.duplicate + counters.stale + counters.handler_failed + counters.store_failed > 0 {
        return Err(format!("the inbox did not handle every delivery once: {counters:?}").into());
    }
    drop(served);
    workers.shutdown().await;
    inbox.close().await;
    Ok(Drained {
        acknowledged,
        handled_in,
        pending_at_end,
    })
}
