//! Delivery throughput and latency, from commit to a loopback receiver's 2xx.
//!
//! ```text
//! cargo bench -p tripletex-webhooks-server --bench delivery            # full run
//! cargo bench -p tripletex-webhooks-server --bench delivery -- --quick # a short check
//! ```
//!
//! "End to end" rows create objects through the API while they are delivered
//! (so they are bounded by the API's create rate); "backlog drain" rows
//! measure the delivery engine alone on a durable backlog.
//!
//! Everything runs in one process on this machine: the server (on a SQLite file
//! in a temp dir, so every delivery is durable), the client creating objects
//! through the HTTP API, and an axum receiver answering 200. Latency is
//! measured from just before the create request is sent (an upper bound on
//! commit time) to the receiver's arrival, so it includes the API call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use test_support::process::{Process, emulator_address};
use tokio::sync::{Semaphore, watch};
use tripletex_webhooks_server::{RunningServer, ServerConfig};

#[derive(Deserialize)]
struct Arrival {
    id: i64,
}

#[derive(Clone)]
struct Receiver {
    arrivals: Arc<Mutex<Vec<(i64, Instant)>>>,
    count: watch::Sender<usize>,
    /// While set, answer 503 with `Retry-After: 3600`.
    refusing: Arc<AtomicBool>,
}

async fn receive(State(receiver): State<Receiver>, body: Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = Instant::now();
    if receiver.refusing.load(Ordering::SeqCst) {
        receiver.count.send_modify(|c| *c += 1);
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "3600")],
        )
            .into_response();
    }
    if let Ok(arrival) = serde_json::from_slice::<Arrival>(&body) {
        receiver.arrivals.lock().unwrap().push((arrival.id, now));
    }
    receiver.count.send_modify(|c| *c += 1);
    "ok".into_response()
}

async fn start_receiver() -> (String, Receiver) {
    let receiver = Receiver {
        arrivals: Arc::default(),
        count: watch::Sender::new(0),
        refusing: Arc::default(),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

struct Setup {
    _dir: tempfile::TempDir,
    server: RunningServer,
    http: reqwest::Client,
    token: String,
    receiver: Receiver,
}

async fn setup(subscriptions: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = RunningServer::start(config).await.unwrap();
    let token = server
        .create_session_token(0)
        .await
        .unwrap()
        .expose_secret()
        .to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let (url, receiver) = start_receiver().await;
    for _ in 0..subscriptions {
        let response = http
            .post(format!("{}/event/subscription", server.base_url()))
            .basic_auth("0", Some(&token))
            .json(&json!({"event": "product.create", "targetUrl": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }
    Setup {
        _dir: dir,
        server,
        http,
        token,
        receiver,
    }
}

/// Creates a product; returns its id and when the request was sent.
async fn create(setup: &Setup, n: usize) -> (i64, Instant) {
    let sent = Instant::now();
    let response = setup
        .http
        .post(format!("{}/product", setup.server.base_url()))
        .basic_auth("0", Some(&setup.token))
        .json(&json!({"name": format!("bench product {n}"), "number": format!("B{n}"), "description": "x".repeat(200)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    (body["value"]["id"].as_i64().unwrap(), sent)
}

async fn wait_for(receiver: &Receiver, n: usize) {
    let mut count = receiver.count.subscribe();
    tokio::time::timeout(Duration::from_secs(300), count.wait_for(|c| *c >= n))
        .await
        .expect("all deliveries arrive")
        .unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn latencies(receiver: &Receiver, sent: &HashMap<i64, Instant>) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = receiver
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(id, at)| sent.get(id).map(|s| at.saturating_duration_since(*s)))
        .collect();
    latencies.sort_unstable();
    latencies
}

struct Row {
    name: String,
    figure: String,
    target: &'static str,
}

/// Closed loop: create `events` objects with 32 requests in flight, each
/// delivered to `subscriptions` subscriptions; deliveries/s from the first
/// create to the last arrival.
async fn throughput(subscriptions: usize, events: usize) -> Row {
    let setup = Arc::new(setup(subscriptions).await);
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::with_capacity(events);
    for n in 0..events {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let setup = Arc::clone(&setup);
        tasks.push(tokio::spawn(async move {
            let created = create(&setup, n).await;
            drop(permit);
            created
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let created_in = started.elapsed();
    wait_for(&setup.receiver, events * subscriptions).await;
    let elapsed = started.elapsed();
    let rate = (events * subscriptions) as f64 / elapsed.as_secs_f64();
    Row {
        name: format!(
            "end-to-end durable deliveries/s, {subscriptions} subscription(s), {events} events"
        ),
        figure: format!(
            "{rate:.0}/s ({} deliveries in {:.2} s; creating took {:.2} s)",
            events * subscriptions,
            elapsed.as_secs_f64(),
            created_in.as_secs_f64()
        ),
        target: ">= 5,000/s (aim 10,000)",
    }
}

/// Backlog drain: `events` objects, each for `subscriptions` subscriptions,
/// are created while the receiver answers 503 `Retry-After: 1h`; then it
/// answers 200 and the server clock jumps an hour, making every message due at
/// once. Deliveries/s of the engine alone, from a durable backlog.
async fn drain(subscriptions: usize, events: usize) -> Row {
    let setup = Arc::new(setup(subscriptions).await);
    setup.receiver.refusing.store(true, Ordering::SeqCst);
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::with_capacity(events);
    for n in 0..events {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let setup = Arc::clone(&setup);
        tasks.push(tokio::spawn(async move {
            let created = create(&setup, n).await;
            drop(permit);
            created
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = events * subscriptions;
    wait_for(&setup.receiver, total).await;
    // Every refusal must be recorded before the jump, or its lease would expire.
    wait_until_recorded(&setup, total).await;
    setup.receiver.refusing.store(false, Ordering::SeqCst);
    setup.receiver.count.send_replace(0);
    let started = Instant::now();
    setup.server.clock().advance(Duration::from_secs(3600));
    wait_for(&setup.receiver, total).await;
    let elapsed = started.elapsed();
    let rate = total as f64 / elapsed.as_secs_f64();
    Row {
        name: format!(
            "backlog drain deliveries/s, {subscriptions} subscription(s), {total} messages"
        ),
        figure: format!("{rate:.0}/s ({total} in {:.2} s)", elapsed.as_secs_f64()),
        target: ">= 5,000/s (aim 10,000)",
    }
}

/// Waits until the delivery log shows `n` messages with a recorded attempt and
/// none in flight.
async fn wait_until_recorded(setup: &Setup, n: usize) {
    let url = format!("http://{}/_emulator/deliveries", setup.server.local_addr());
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let log: serde_json::Value = setup
            .http
            .get(&url)
            // Every message on one page.
            .query(&[("count", n)])
            .basic_auth("0", Some(&setup.token))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let recorded = log["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["attempts"].as_i64() == Some(1))
            .count();
        if recorded >= n {
            return;
        }
    }
}

/// Open loop: `rate` creates per second for `seconds`, one subscription;
/// commit-to-receipt latency percentiles.
async fn latency_at(rate: u32, seconds: u32) -> Vec<Row> {
    let setup = Arc::new(setup(1).await);
    let total = (rate * seconds) as usize;
    let mut interval = tokio::time::interval(Duration::from_secs(1) / rate);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        interval.tick().await;
        let setup = Arc::clone(&setup);
        tasks.push(tokio::spawn(async move { create(&setup, n).await }));
    }
    let mut sent = HashMap::with_capacity(total);
    for task in tasks {
        let (id, at) = task.await.unwrap();
        sent.insert(id, at);
    }
    wait_for(&setup.receiver, total).await;
    let latencies = latencies(&setup.receiver, &sent);
    vec![
        Row {
            name: format!("commit-to-receipt p50 at {rate} events/s (open loop, {seconds} s)"),
            figure: format!(
                "{:.2} ms",
                percentile(&latencies, 0.50).as_secs_f64() * 1000.0
            ),
            target: "",
        },
        Row {
            name: format!("commit-to-receipt p99 at {rate} events/s (open loop, {seconds} s)"),
            figure: format!(
                "{:.2} ms",
                percentile(&latencies, 0.99).as_secs_f64() * 1000.0
            ),
            target: "< 25 ms",
        },
    ]
}

/// The ceiling in the same run: plain reqwest POSTs of the same envelope to
/// the same kind of receiver, 64 in flight.
async fn ceiling(requests: usize) -> Row {
    let (url, receiver) = start_receiver().await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let body = serde_json::to_vec(
        &json!({"subscriptionId": 1, "event": "product.create", "id": 1,
        "value": {"id": 1, "version": 0, "name": "bench product", "description": "x".repeat(200)}}),
    )
    .unwrap();
    let limit = Arc::new(Semaphore::new(64));
    let started = Instant::now();
    for _ in 0..requests {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        tokio::spawn(async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            drop(permit);
        });
    }
    wait_for(&receiver, requests).await;
    let rate = requests as f64 / started.elapsed().as_secs_f64();
    Row {
        name: format!(
            "ceiling: plain reqwest POSTs to the receiver, 64 in flight, {requests} requests"
        ),
        figure: format!("{rate:.0}/s"),
        target: "(reference)",
    }
}

/// A server process on PostgreSQL (the built binary) and the port it chose.
struct Instance {
    port: u16,
    _process: Process,
}

async fn spawn_instance(database: &str) -> Instance {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tripletex-webhooks-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .args(["--employee-token", "bench-employee-token"])
        .env("RUST_LOG", "warn");
    let process = Process::spawn("a server instance", command);
    let port = process
        .wait_for_line("its address", |line| {
            emulator_address(line).map(|addr| addr.port())
        })
        .await;
    Instance {
        port,
        _process: process,
    }
}

/// A fresh schema of `DATABASE_URL` for one run.
async fn fresh_schema(base: &str) -> (String, sqlx::PgPool) {
    let schema = format!("bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(base).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    (url, admin)
}

/// Backlog drain on PostgreSQL with `instances` server processes sharing it.
async fn cluster_drain(base: &str, instances: usize, subscriptions: usize, events: usize) -> Row {
    let (database, admin) = fresh_schema(base).await;
    let mut servers = Vec::with_capacity(instances);
    for _ in 0..instances {
        servers.push(spawn_instance(&database).await);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let bases: Vec<String> = servers
        .iter()
        .map(|i| format!("http://127.0.0.1:{}", i.port))
        .collect();
    let session: serde_json::Value = http
        .put(format!("{}/v2/token/session/:create?consumerToken=local-consumer-token&employeeToken=bench-employee-token&expirationDate=2099-01-01", bases[0]))
        .send().await.unwrap().json().await.unwrap();
    let token = session["value"]["token"].as_str().unwrap().to_owned();
    let (url, receiver) = start_receiver().await;
    receiver.refusing.store(true, Ordering::SeqCst);
    for _ in 0..subscriptions {
        let response = http
            .post(format!("{}/v2/event/subscription", bases[0]))
            .basic_auth("0", Some(&token))
            .json(&json!({"event": "product.create", "targetUrl": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::with_capacity(events);
    for n in 0..events {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let (http, token, b) = (http.clone(), token.clone(), bases[n % bases.len()].clone());
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(format!("{b}/v2/product"))
                .basic_auth("0", Some(&token))
                .json(
                    &json!({"name": format!("bench product {n}"), "description": "x".repeat(200)}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = events * subscriptions;
    // Every first (refused) attempt recorded, nothing leased.
    let schema_pool = sqlx::PgPool::connect(&database).await.unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM messages WHERE status = 'pending' AND attempts >= 1 AND lease_until_ms IS NULL",
        )
        .fetch_one(&schema_pool).await.unwrap();
        if usize::try_from(waiting).unwrap() >= total {
            break;
        }
    }
    receiver.refusing.store(false, Ordering::SeqCst);
    receiver.count.send_replace(0);
    let started = Instant::now();
    for b in &bases {
        let response = http
            .post(format!("{b}/_emulator/clock/advance"))
            .basic_auth("0", Some(&token))
            .json(&json!({"seconds": 3600}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    wait_for(&receiver, total).await;
    let elapsed = started.elapsed();
    drop(servers);
    schema_pool.close().await;
    let schema = format!("bench_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    let rate = total as f64 / elapsed.as_secs_f64();
    Row {
        name: format!("PostgreSQL backlog drain, {instances} instance(s), {total} messages"),
        figure: format!("{rate:.0}/s ({total} in {:.2} s)", elapsed.as_secs_f64()),
        target: "(more instances: more throughput)",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only NAME` runs one part: ceiling, end-to-end, drain, cluster or latency.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(async {
        let scale = if quick { 10 } else { 1 };
        let mut rows = Vec::new();
        if runs("ceiling") {
            rows.push(ceiling(20_000 / scale).await);
        }
        if runs("end-to-end") {
            rows.push(throughput(1, 20_000 / scale).await);
            rows.push(throughput(10, 2_000 / scale).await);
            rows.push(throughput(100, 200 / scale).await);
        }
        if runs("drain") {
            rows.push(drain(1, 20_000 / scale).await);
            rows.push(drain(10, 2_000 / scale).await);
            rows.push(drain(100, 200 / scale).await);
        }
        if runs("cluster") {
            match std::env::var("DATABASE_URL") {
                Ok(base) => {
                    for instances in 1..=3 {
                        rows.push(cluster_drain(&base, instances, 10, 2_000 / scale).await);
                    }
                }
                Err(_) => {
                    eprintln!("skipping the PostgreSQL cluster part: DATABASE_URL is not set");
                }
            }
        }
        if runs("latency") {
            rows.extend(latency_at(1_000, if quick { 2 } else { 10 }).await);
        }
        rows
    });
    println!("| measure | result | target |");
    println!("|---|---|---|");
    for row in rows {
        println!("| {} | {} | {} |", row.name, row.figure, row.target);
    }
}
