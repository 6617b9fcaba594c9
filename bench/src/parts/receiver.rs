//! Part 1, receiver overhead: the same axum route (the body parsed into a
//! `serde_json::Value`, then 200) (a) bare and (b) behind
//! `TripletexWebhookLayer` with header auth, HMAC, typed decoding and the
//! in-memory dedup store, under the same load: 64 connections with one
//! request in flight each, ~1.5 KB `product.update` envelopes with distinct
//! ids and rising versions (every delivery a fresh version, so the layer
//! does its whole work: authenticate, verify, decode, check, handle,
//! record). Requests/s and latency percentiles of both, and the ratio b/a.
//!
//! The load generator runs in this process and shares the cores with the
//! route; both routes get byte-identical requests (signed, with the auth
//! header), so its cost is the same on both sides. The two alternate, each
//! after a warm-up (a then b in odd rounds, b then a in even ones); the
//! ratio is the median of the rounds' b/a, the other figures are pooled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tripletex_webhooks_bench::fixtures::product_envelope;
use tripletex_webhooks_bench::receiver_routes::{self, AUTH_HEADER, AUTH_VALUE, HMAC_SECRET, PATH};
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::signature;

use super::all;
use crate::report::{Row, Verdict};
use crate::stats::{Latencies, ms, per_second, thousands, to_f64};
use crate::{BoxError, Res};

const PART: &str = "receiver";
const CONNECTIONS: usize = 64;
/// Objects per connection, cycled with rising versions.
const OBJECTS_PER_CONNECTION: u64 = 1_000;

/// A route on 127.0.0.1 that stops when dropped.
pub(super) struct Served {
    pub(super) url: String,
    _stop: oneshot::Sender<()>,
}

pub(super) async fn serve(app: Router) -> Res<Served> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Served { url, _stop: stop })
}

/// What one load run measured.
#[derive(Default)]
pub(super) struct Load {
    pub(super) requests: u64,
    pub(super) elapsed: Duration,
    /// CPU time of this whole process (load generator included).
    cpu: Duration,
    pub(super) latencies: Latencies,
}

impl Load {
    pub(super) fn add(&mut self, other: &Self) {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.cpu += other.cpu;
        self.latencies.merge(&other.latencies);
    }

    pub(super) fn rate(&self) -> f64 {
        per_second(self.requests, self.elapsed)
    }

    /// CPU time per request, in microseconds.
    fn cpu_micros(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / to_f64(self.requests.max(1))
    }
}

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (rounds, warm_up, seconds) = if quick {
        (1, Duration::from_millis(500), Duration::from_secs(2))
    } else {
        (7, Duration::from_millis(500), Duration::from_secs(2))
    };
    let config = receiver_routes::config()?;
    let bare = serve(receiver_routes::bare()).await?;
    let layered = serve(receiver_routes::layered(config.clone())).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .http1_only()
        .build()?;
    // Each load run uses versions above every earlier run's.
    let epoch = AtomicU64::new(0);
    let mut a = Load::default();
    let mut b = Load::default();
    // b/a of each round, its two runs back to back.
    let mut ratios = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let (mut rate_a, mut rate_b) = (0.0, 0.0);
        let mut runs = [
            ("a, bare", &bare, &mut a, &mut rate_a),
            ("b, layer", &layered, &mut b, &mut rate_b),
        ];
        // a first in odd rounds, b first in even ones.
        if round % 2 == 0 {
            runs.reverse();
        }
        for (name, served, total, rate) in runs {
            eprintln!("   round {round}/{rounds}: route {name}");
            load(&http, &served.url, warm_up, &epoch).await?;
            let run = load(&http, &served.url, seconds, &epoch).await?;
            *rate = run.rate();
            total.add(&run);
        }
        eprintln!("   round {round}/{rounds}: a {rate_a:.0}/s, b {rate_b:.0}/s");
        ratios.push(rate_b / rate_a.max(1e-9));
    }
    let metrics = config.snapshot();
    let redundant = metrics.duplicate + metrics.stale;
    let rejected = metrics.unauthorized
        + metrics.malformed
        + metrics.handler_failed
        + metrics.store_failed
        + metrics.busy;
    if redundant + rejected > 0 {
        return Err(format!("the layer did not accept every delivery: {metrics:?}").into());
    }
    let pooled = b.rate() / a.rate().max(1e-9);
    ratios.sort_by(f64::total_cmp);
    // The median round: one round that a stall of the machine slowed on one
    // side moves it less than it moves the pooled rates.
    let ratio = ratios[ratios.len() / 2];
    let (lowest, highest) = (ratios[0], ratios[ratios.len() - 1]);
    let what = format!(
        "{CONNECTIONS} connections, {rounds} × {} s",
        seconds.as_secs()
    );
    Ok(vec![
        Row::info(
            PART,
            format!(
                "(a) bare axum route, body → serde_json::Value: requests/s, p50 / p99 ({what})"
            ),
            format!(
                "{}/s, {} / {}; {:.0} µs CPU a request (load generator included)",
                thousands(a.rate()),
                ms(a.latencies.p50()),
                ms(a.latencies.p99()),
                a.cpu_micros()
            ),
        ),
        Row::info(
            PART,
            "(b) the same route behind TripletexWebhookLayer: header auth + HMAC + typed decode + MemoryStore dedup: requests/s, p50 / p99",
            format!(
                "{}/s, {} / {}; {:.0} µs CPU a request ({} accepted, none redundant or rejected)",
                thousands(b.rate()),
                ms(b.latencies.p50()),
                ms(b.latencies.p99()),
                b.cpu_micros(),
                thousands(crate::stats::to_f64(metrics.accepted)),
            ),
        ),
        Row::new(
            PART,
            "receiver throughput ratio b/a",
            format!(
                "**{ratio:.2}** (median of {rounds} rounds, each b/a back to back: \
                 {lowest:.2} to {highest:.2}; pooled {pooled:.2}; the layer adds {:.0} µs of \
                 CPU a request)",
                b.cpu_micros() - a.cpu_micros()
            ),
            ">= 0.90",
            Verdict::from(ratio >= 0.90),
        ),
    ])
}

/// [`CONNECTIONS`] tasks, each sending one signed envelope at a time to
/// `url` until `duration` has passed.
pub(super) async fn load(
    http: &reqwest::Client,
    url: &str,
    duration: Duration,
    epoch: &AtomicU64,
) -> Res<Load> {
    let epoch = epoch.fetch_add(1, Ordering::Relaxed);
    let secret = Arc::new(SecretString::from(HMAC_SECRET));
    let cpu_before = process_cpu()?;
    let started = Instant::now();
    let deadline = started + duration;
    let per_task = all(CONNECTIONS, |task| {
        let (http, url, secret) = (http.clone(), url.to_owned(), Arc::clone(&secret));
        async move {
            let mut latencies = Latencies::new();
            let mut n: u64 = 0;
            while Instant::now() < deadline {
                let id = i64::try_from(
                    crate::stats::count(task) * OBJECTS_PER_CONNECTION
                        + n % OBJECTS_PER_CONNECTION
                        + 1,
                )?;
                let version = i64::try_from(epoch * 1_000_000 + n / OBJECTS_PER_CONNECTION)?;
                let body = product_envelope(1, id, version);
                let key = format!("bench-{id}-{version}");
                let signature = signature::sign(&secret, &key, body.as_bytes());
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(AUTH_HEADER, AUTH_VALUE)
                    .header("idempotency-key", key)
                    .header("x-request-signature", signature)
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                response.bytes().await?;
                latencies.record(sent.elapsed());
                if status != StatusCode::OK {
                    return Err(BoxError::from(format!("{url} answered {status}")));
                }
                n += 1;
            }
            Ok((n, latencies))
        }
    })
    .await?;
    let elapsed = started.elapsed();
    let mut total = Load {
        elapsed,
        cpu: process_cpu()?.saturating_sub(cpu_before),
        ..Load::default()
    };
    for (requests, latencies) in per_task {
        total.requests += requests;
        total.latencies.merge(&latencies);
    }
    Ok(total)
}

/// The CPU time (user + system) this process used so far, from
/// `/proc/self/stat` (in clock ticks of 10 ms).
fn process_cpu() -> Res<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name may hold spaces; the fields after it may not.
    let after_name = stat
        .rsplit_once(')')
        .map_or(stat.as_str(), |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    let ticks = |i: usize| -> Res<u64> {
        Ok(fields
            .get(i)
            .ok_or("short /proc/self/stat")?
            .parse::<u64>()?)
    };
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}
