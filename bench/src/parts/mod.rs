//! The parts of the suite, and what several of them share: an
//! in-process server on a SQLite file and an open-loop load of product
//! creates.

mod backlog;
mod decode;
pub(crate) mod dedup;
mod delivery;
mod inbox;
mod isolation;
pub(crate) mod load;
mod mirror;
mod receiver;
mod wal;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::task::JoinSet;
use tripletex_webhooks_server::{RunningServer, ServerConfig};

use crate::api::Api;
use crate::report::Row;
use crate::sink::Sink;
use crate::stats::Latencies;
use crate::{BoxError, Res};

/// Runs one part.
pub(crate) async fn run(part: &str, quick: bool) -> Res<Vec<Row>> {
    match part {
        "receiver" => receiver::run(quick).await,
        "inbox" => inbox::run(quick).await,
        "delivery" => delivery::run(quick).await,
        "isolation" => isolation::run(quick).await,
        "backlog" => backlog::run(quick).await,
        "dedup" => dedup::run(quick).await,
        "decode" => decode::run(quick),
        "wal" => wal::run(quick).await,
        "mirror" => mirror::run(quick).await,
        "load" => load::run(quick).await,
        other => Err(format!("no part named {other}").into()),
    }
}

/// The longest any wait for deliveries may take before the part fails.
const PATIENCE: Duration = Duration::from_secs(300);

/// The bundled server in this process, on a SQLite file in a temporary
/// directory (WAL, `synchronous=NORMAL`): every delivery is durable.
pub(crate) struct Local {
    pub(crate) server: RunningServer,
    pub(crate) api: Api,
    database: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Local {
    pub(crate) async fn start() -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("bench.db");
        let mut config = ServerConfig::for_tests();
        config.database_url = format!("sqlite://{}", database.display());
        let server = RunningServer::start(config).await?;
        let token = server.create_session_token(0).await?;
        let api = Api::new(server.base_url(), token.expose_secret().to_owned())?;
        Ok(Self {
            server,
            api,
            database,
            _dir: dir,
        })
    }

    /// The SQLite file.
    pub(crate) fn database_path(&self) -> &std::path::Path {
        &self.database
    }

    /// Shuts the server down (at most a minute).
    pub(crate) async fn stop(self) -> Res<()> {
        tokio::time::timeout(Duration::from_secs(60), self.server.shutdown())
            .await
            .map_err(|_| "the server did not shut down within a minute")?;
        Ok(())
    }
}

/// Creates `count` products with at most `in_flight` requests at once
/// (closed loop); returns how long creating took.
pub(crate) async fn create_products(api: &Api, count: u64, in_flight: usize) -> Res<Duration> {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for n in 0..count {
        if tasks.len() >= in_flight {
            if let Some(done) = tasks.join_next().await {
                done??;
            }
        }
        let api = api.clone();
        tasks.spawn(async move { api.create_product(n).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(started.elapsed())
}

/// Open loop: `rate` product creates per second for `seconds`, on schedule
/// whatever the responses do. Returns when each product's create request was
/// sent, by product id.
pub(crate) async fn open_loop_creates(
    api: &Api,
    rate: u32,
    seconds: u32,
) -> Res<HashMap<i64, Instant>> {
    let total = u64::from(rate) * u64::from(seconds);
    let mut interval = tokio::time::interval(Duration::from_secs(1) / rate);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    for n in 0..total {
        interval.tick().await;
        let api = api.clone();
        tasks.spawn(async move { api.create_product(n).await });
    }
    let mut sent = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, at) = done.map_err(BoxError::from)??;
        sent.insert(id, at);
    }
    Ok(sent)
}

/// Commit-to-receipt latencies: each arrival at `sink` matched with when its
/// object's create was sent (its first arrival: a duplicate is neither a
/// second latency nor a second create). Fails unless every create arrived.
pub(crate) fn latencies(sink: &Sink, sent: &HashMap<i64, Instant>) -> Res<Latencies> {
    let mut first: HashMap<i64, Instant> = HashMap::new();
    for (id, at) in sink.arrivals() {
        if sent.contains_key(&id) {
            first
                .entry(id)
                .and_modify(|earliest| *earliest = (*earliest).min(at))
                .or_insert(at);
        }
    }
    let mut latencies = Latencies::new();
    for (id, at) in &first {
        if let Some(sent) = sent.get(id) {
            latencies.record(at.saturating_duration_since(*sent));
        }
    }
    // One latency per distinct object, so duplicates cannot make up for a
    // lost create.
    let matched = latencies.len();
    if matched < crate::stats::count(sent.len()) {
        return Err(format!("only {matched} of {} events arrived", sent.len()).into());
    }
    Ok(latencies)
}

/// Runs `count` copies of `task` concurrently; fails with the first error.
pub(crate) async fn all<F, Fut, T>(count: usize, task: F) -> Res<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Res<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..count {
        tasks.spawn(task(i));
    }
    let mut out = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        out.push(done??);
    }
    Ok(out)
}

/// The machine's ceiling: `requests` plain JSON POSTs to `url`, 64 in
/// flight, the `n`th with `body(n)`; requests a second. Any answer but 2xx
/// fails the run.
pub(crate) async fn post_ceiling(
    url: &str,
    requests: u64,
    body: impl Fn(u64) -> Res<Vec<u8>>,
) -> Res<f64> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let url: std::sync::Arc<str> = url.into();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for n in 0..requests {
        if tasks.len() >= 64 {
            if let Some(done) = tasks.join_next().await {
                done??;
            }
        }
        let (http, url, body) = (http.clone(), std::sync::Arc::clone(&url), body(n)?);
        tasks.spawn(async move {
            let response = http
                .post(&*url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(BoxError::from(format!("ceiling: {}", response.status())))
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(crate::stats::per_second(requests, started.elapsed()))
}
