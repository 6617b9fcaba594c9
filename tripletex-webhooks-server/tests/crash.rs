//! Durability: the server binary is killed with SIGKILL at random moments while
//! events are being created and delivered; after each restart every committed
//! event still reaches the receiver (at least once, duplicates counted). Under
//! both `--durability` modes (what `power` adds, the sync before each answer,
//! is `tests/durability.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::process::ServerProcess;
use common::receiver::Receiver;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

const EMPLOYEE_TOKEN: &str = "crash-employee-token";
const EVENTS: usize = 2000;
const KILLS: usize = 4;
const UP_WITHIN: Duration = Duration::from_secs(30);

/// The environment variable that replays a run: the seed of its kill moments.
const SEED_VARIABLE: &str = "CRASH_TEST_SEED";

/// The seed: `CRASH_TEST_SEED` when set, else from the clock; printed, so a
/// failing run (whose output the harness shows) can be replayed.
fn seed() -> u64 {
    let seed = std::env::var(SEED_VARIABLE).map_or_else(
        |_| {
            u64::from(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos(),
            )
        },
        |raw| {
            raw.parse()
                .unwrap_or_else(|_| panic!("{SEED_VARIABLE}={raw} is not a number"))
        },
    );
    println!("crash test seed {seed} (replay with {SEED_VARIABLE}={seed})");
    seed
}

/// A deterministic random sequence (xorshift) from `seed`.
fn random_delays(seed: u64, count: usize) -> Vec<Duration> {
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Duration::from_millis(150 + state % 600)
        })
        .collect()
}

/// What was outstanding at the moment of one SIGKILL.
#[derive(Debug)]
struct AtKill {
    /// Creates sent and not yet answered.
    creates_in_flight: usize,
    /// Confirmed events the receiver had not yet seen.
    deliveries_outstanding: usize,
}

/// The distinct object ids the receiver has seen.
fn delivered_ids(receiver: &Receiver) -> BTreeSet<i64> {
    receiver
        .received()
        .iter()
        .map(|callback| callback.json()["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_it_loses_nothing() {
    killed_at_random_moments("process").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_with_durability_power_it_loses_nothing() {
    killed_at_random_moments("power").await;
}

/// One run, the server started with `--durability durability`.
async fn killed_at_random_moments(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("crash.db").display());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let receiver = Receiver::start().await;
    let mut server =
        ServerProcess::start(&database, EMPLOYEE_TOKEN, &["--durability", durability]).await;
    server.wait_until_up(&http, UP_WITHIN).await;

    let token = server.session_token(&http).await;
    let response = http
        .post(format!("{}/event/subscription", server.base()))
        .basic_auth("0", Some(&token))
        .json(&json!({"event": "product.create", "targetUrl": receiver.url("/crash")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);

    // Creators: each event is retried until the server confirms it; ids whose
    // confirmation was lost in a crash may still have committed (counted apart).
    let confirmed = Arc::new(Mutex::new(BTreeSet::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut creators = Vec::new();
    for worker in 0..4 {
        let (http, token, base, confirmed, in_flight) = (
            http.clone(),
            token.clone(),
            server.base(),
            Arc::clone(&confirmed),
            Arc::clone(&in_flight),
        );
        creators.push(tokio::spawn(async move {
            for n in (worker..EVENTS).step_by(4) {
                loop {
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let sent = http
                        .request(Method::POST, format!("{base}/product"))
                        .basic_auth("0", Some(&token))
                        .json(&json!({"name": format!("p{n}")}))
                        .send()
                        .await;
                    let created = match sent {
                        Ok(response) if response.status().as_u16() == 201 => {
                            response.json::<Value>().await.ok()
                        }
                        _ => None,
                    };
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    if let Some(body) = created {
                        confirmed
                            .lock()
                            .await
                            .insert(body["value"]["id"].as_i64().unwrap());
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    // The killer: SIGKILL at random moments, restart at once.
    // Just before each, what was outstanding is recorded: a kill of an idle
    // server would prove nothing.
    let mut at_kills = Vec::new();
    for delay in random_delays(seed(), KILLS) {
        let mut tick = tokio::time::interval(delay);
        tick.tick().await;
        tick.tick().await;
        let committed = confirmed.lock().await.clone();
        let delivered = delivered_ids(&receiver);
        at_kills.push(AtKill {
            creates_in_flight: in_flight.load(Ordering::SeqCst),
            deliveries_outstanding: committed.difference(&delivered).count(),
        });
        server.kill().await;
        server.restart();
        server.wait_until_up(&http, UP_WITHIN).await;
    }
    for creator in creators {
        creator.await.unwrap();
    }
    let confirmed = confirmed.lock().await.clone();
    assert_eq!(confirmed.len(), EVENTS);
    println!("crash test: outstanding at each SIGKILL: {at_kills:?}");
    for (n, at) in at_kills.iter().enumerate() {
        assert!(
            at.creates_in_flight > 0 || at.deliveries_outstanding > 0,
            "SIGKILL {n} hit an idle server (nothing in flight, nothing outstanding): {at_kills:?}"
        );
    }

    // Every confirmed event arrives (bounded wait), each at least once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let counts = loop {
        tick.tick().await;
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for callback in receiver.received() {
            *counts
                .entry(callback.json()["id"].as_i64().unwrap())
                .or_default() += 1;
        }
        if confirmed.iter().all(|id| counts.contains_key(id)) {
            break counts;
        }
        let missing = confirmed
            .iter()
            .filter(|id| !counts.contains_key(id))
            .count();
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} confirmed events never arrived"
        );
    };
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    let unconfirmed = counts.keys().filter(|id| !confirmed.contains(id)).count();
    println!(
        "crash test: {} events confirmed, {} delivered, {duplicates} delivered more than once, {unconfirmed} committed without confirmation, {KILLS} SIGKILLs",
        confirmed.len(),
        counts.len()
    );

    // A final SIGTERM shuts down gracefully.
    let status = server.terminate().await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
