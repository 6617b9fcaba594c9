//! The kill test: a receiver process with the SQLite inbox is fed signed
//! deliveries and SIGKILLed while it handles them, many times (seeded; the
//! seed is printed, `INBOX_KILL_SEED` repeats a run), and restarted. Its
//! handler appends each (object, version) it completes to a file, after
//! asking the dedup store whether that version was already recorded as
//! handled (which would be a duplicate after success). At the end:
//! acknowledged, handled, skipped as stale (acknowledged after a newer
//! version of its object was handled: two senders raced to a restarted
//! receiver; the inbox lists it as skipped), duplicated after success
//! (must be 0), lost (acknowledged, neither handled nor skipped as stale:
//! must be 0), and re-run (handled again
//! after a kill between the handler's end and the recording of its
//! version: the at-least-once window, reported).
//!
//! This binary is its own child: with `INBOX_KILL_CHILD=DIR` it is the
//! receiver (its own harness, `harness = false`, so it can be either).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::process::Command;
use tokio::sync::watch;
use tripletex_webhooks_receiver::inbox::{Inbox, ReplayFilter, State as InboxState};
use tripletex_webhooks_receiver::secrecy::SecretString;
use tripletex_webhooks_receiver::store::SqliteStore;
use tripletex_webhooks_receiver::types::signature;
use tripletex_webhooks_receiver::types::{ObjectKey, Subject};
use tripletex_webhooks_receiver::{
    DedupKey, DedupStore, TripletexWebhookLayer, Webhook, WebhookConfig,
};

const CHILD: &str = "INBOX_KILL_CHILD";
const SEED: &str = "INBOX_KILL_SEED";
const SECRET: &str = "kill-test-secret";
const OBJECTS: i64 = 30;
const VERSIONS: i64 = 5;
const KILLS: usize = 12;
const SENDERS: usize = 4;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(dir) = std::env::var_os(CHILD) {
        runtime.block_on(child(PathBuf::from(dir)));
        return ExitCode::SUCCESS;
    }
    // The harness's flags (`--list` among them) are for tests this binary has none of.
    if std::env::args().any(|arg| arg == "--list") {
        println!("kill_test: test");
        return ExitCode::SUCCESS;
    }
    runtime.block_on(parent());
    println!("test kill_test ... ok");
    ExitCode::SUCCESS
}

// ---- the receiver process ----

#[derive(Clone)]
struct Child {
    store: Arc<SqliteStore>,
    log: Arc<Mutex<std::fs::File>>,
}

async fn handle(State(child): State<Child>, webhook: Webhook) -> StatusCode {
    let event = webhook.event();
    let version = webhook.delivery().version().unwrap();
    let key = DedupKey::Object(ObjectKey {
        subject: Subject::Product,
        id: event.id,
    });
    let recorded = child.store.seen(&key).await.unwrap();
    let kind = if recorded.and_then(|seen| seen.version) >= Some(version) {
        "DUP"
    } else {
        "DONE"
    };
    // Some work a kill can interrupt: a durable append.
    let mut log = child.log.lock().unwrap();
    writeln!(log, "{kind} {} {version}", event.id).unwrap();
    log.sync_data().unwrap();
    StatusCode::OK
}

async fn child(dir: PathBuf) {
    let url = format!("sqlite://{}", dir.join("inbox.db").display());
    let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let inbox = Inbox::open(&url)
        .await
        .unwrap()
        .workers(4)
        .lease(Duration::from_millis(800))
        // A delivery whose object a killed process still held fails until
        // that claim expires; the default backoff (1 s, doubling) would put
        // a few such failures on a loaded machine past the test's bound
        // (and with short pauses, the attempts must not run out first).
        .backoff(Duration::from_millis(100), Duration::from_secs(1))
        .max_attempts(1_000)
        .poll_interval(Duration::from_millis(50));
    let config = WebhookConfig::builder()
        .hmac_secret(SECRET)
        .store(Arc::clone(&store))
        .claim_ttl(Duration::from_millis(800))
        .build()
        .unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("handled.log"))
        .unwrap();
    let app = Router::new()
        .route("/hook", post(handle))
        .with_state(Child {
            store,
            log: Arc::new(Mutex::new(log)),
        })
        .layer(TripletexWebhookLayer::new(config.clone()).inbox(inbox.clone()));
    let _workers = inbox.start(config, app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("READY {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

// ---- the test ----

/// A small seeded generator (xorshift64*): the run repeats with its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Every delivery, each object's versions in order, objects interleaved.
fn deliveries(rng: &mut Rng) -> Vec<(i64, i64)> {
    let mut next: BTreeMap<i64, i64> = (1..=OBJECTS).map(|id| (id, 1)).collect();
    let mut all = Vec::new();
    while !next.is_empty() {
        let ids: Vec<i64> = next.keys().copied().collect();
        let id = ids[usize::try_from(rng.below(u64::try_from(ids.len()).unwrap())).unwrap()];
        let version = next[&id];
        all.push((id, version));
        if version == VERSIONS {
            next.remove(&id);
        } else {
            next.insert(id, version + 1);
        }
    }
    all
}

/// Starts the receiver; returns it and its address.
async fn start(dir: &Path) -> (test_support::process::Process, SocketAddr) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env(CHILD, dir);
    let process = test_support::process::Process::spawn("inbox receiver", command);
    let addr = process
        .wait_for_line("READY", |line| line.strip_prefix("READY ")?.parse().ok())
        .await;
    (process, addr)
}

/// Posts one signed delivery until it is acknowledged, following the
/// receiver to its next address whenever a request fails.
async fn deliver(
    http: &reqwest::Client,
    addr: &mut watch::Receiver<SocketAddr>,
    (id, version): (i64, i64),
) {
    let body = serde_json::json!({
        "subscriptionId": 1, "event": "product.update", "id": id,
        "value": {"id": id, "version": version, "name": format!("p{id} v{version}")},
    })
    .to_string();
    let key = format!("delivery-{id}-{version}");
    let signed = signature::sign(&SecretString::from(SECRET), &key, body.as_bytes());
    loop {
        let url = format!("http://{}/hook", *addr.borrow_and_update());
        let sent = http
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", &key)
            .header("x-request-signature", &signed)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == StatusCode::OK => return,
            // A 503 (or a failed request): the receiver was killed; try its successor.
            _ => {
                let moved = tokio::time::timeout(test_support::WITHIN, addr.changed()).await;
                assert!(
                    moved.is_ok(),
                    "delivery {key} not acknowledged within {:?}",
                    test_support::WITHIN
                );
            }
        }
    }
}

/// The handler's log: completions per (object, version), and duplicates
/// after success.
fn read_log(dir: &Path) -> (BTreeMap<(i64, i64), usize>, usize) {
    let text = std::fs::read_to_string(dir.join("handled.log")).unwrap_or_default();
    let mut done = BTreeMap::new();
    let mut duplicates = 0;
    for line in text.lines() {
        let mut words = line.split(' ');
        let (Some(kind), Some(id), Some(version)) = (words.next(), words.next(), words.next())
        else {
            continue; // a line cut by a kill is not a completion
        };
        let (Ok(id), Ok(version)) = (id.parse(), version.parse()) else {
            continue;
        };
        if kind == "DUP" {
            duplicates += 1;
        }
        *done.entry((id, version)).or_insert(0) += 1;
    }
    (done, duplicates)
}

async fn parent() {
    let seed = std::env::var(SEED)
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            now.as_secs() ^ u64::from(now.subsec_nanos()) | 1
        });
    println!("inbox kill test: seed {seed} (repeat with {SEED}={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let all = deliveries(&mut rng);
    let (mut receiver, addr) = start(dir.path()).await;
    let (address, addresses) = watch::channel(addr);
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let queue = Arc::new(Mutex::new(all.into_iter()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (http, mut addresses, queue, acknowledged) = (
            http.clone(),
            addresses.clone(),
            Arc::clone(&queue),
            Arc::clone(&acknowledged),
        );
        senders.spawn(async move {
            loop {
                let Some(next) = queue.lock().unwrap().next() else {
                    return;
                };
                deliver(&http, &mut addresses, next).await;
                acknowledged.lock().unwrap().insert(next);
            }
        });
    }
    drop(addresses);
    for kill in 1..=KILLS {
        // Kill while it handles: after a seeded number of new completions.
        let before = read_log(dir.path()).0.values().sum::<usize>();
        let more = 1 + usize::try_from(rng.below(12)).unwrap();
        test_support::eventually(&format!("kill {kill}: {more} more completions"), || async {
            (read_log(dir.path()).0.values().sum::<usize>() >= before + more).then_some(())
        })
        .await;
        receiver.kill().await;
        let (restarted, addr) = start(dir.path()).await;
        receiver = restarted;
        address.send_replace(addr);
    }
    while let Some(sent) = senders.join_next().await {
        sent.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    // A version acknowledged after a newer one of its object was handled
    // (two senders racing to a restarted receiver) is stale: the inbox
    // skips it, as it must, instead of handing it over.
    let inbox = Inbox::open(&format!(
        "sqlite://{}",
        dir.path().join("inbox.db").display()
    ))
    .await
    .unwrap();
    let skipped = || async {
        let filter = ReplayFilter::dead_letters().states(&[InboxState::Skipped]);
        let entries = inbox.list(&filter, 10_000).await.unwrap();
        entries
            .into_iter()
            .filter_map(|entry| entry.idempotency_key)
            .collect::<BTreeSet<_>>()
    };
    let accounted = |done: &BTreeMap<(i64, i64), usize>, skipped: &BTreeSet<String>| {
        let skipped_as_stale = |&(id, version): &(i64, i64)| {
            skipped.contains(&format!("delivery-{id}-{version}"))
                && done
                    .keys()
                    .any(|&(other, newer)| other == id && newer > version)
        };
        acknowledged
            .iter()
            .filter(|delivery| done.contains_key(delivery) || skipped_as_stale(delivery))
            .count()
    };
    test_support::eventually(
        "every acknowledged delivery handled or skipped as stale",
        || async {
            let (done, _) = read_log(dir.path());
            (accounted(&done, &skipped().await) == acknowledged.len()).then_some(())
        },
    )
    .await;
    receiver.kill().await;
    let (done, duplicates) = read_log(dir.path());
    let stale = acknowledged
        .iter()
        .filter(|delivery| !done.contains_key(delivery))
        .count();
    let lost = acknowledged.len() - accounted(&done, &skipped().await);
    let reruns: usize = done.values().map(|count| count - 1).sum::<usize>() - duplicates;
    println!(
        "inbox kill test: {KILLS} kills; acknowledged {}, handled {}, skipped as stale {}, \
         duplicated after success {duplicates}, lost {lost}, re-run after a kill before recording {reruns}",
        acknowledged.len(),
        done.len(),
        stale - lost,
    );
    assert_eq!(lost, 0, "lost {lost} acknowledged deliveries (seed {seed})");
    assert_eq!(duplicates, 0, "handled again after success (seed {seed})");
    assert_eq!(
        acknowledged.len(),
        usize::try_from(OBJECTS * VERSIONS).unwrap()
    );
}
