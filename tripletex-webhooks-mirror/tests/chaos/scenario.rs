//! One chaos run: a mirror process backfilling three subjects while other
//! clients write, SIGKILLed and restarted, its receiver down for a while,
//! deliveries lost to a disabled subscription; then the checks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::eventually_within;
use test_support::process::Process;
use tripletex_webhooks_mirror::Store;

use crate::child::{BASE_URL, CHILD, LISTEN, STORE, TOKEN};
use crate::tripletex::{Kind, Tripletex};
use crate::{SUBJECTS, audit};

/// How long a delivery may wait behind the backlog of the others' writes
/// (a store on a loaded machine applies a few webhooks per second).
const BACKLOG: Duration = Duration::from_secs(120);

/// The most rounds of writes by the others (each round: an update per
/// subject, a delete every third round, a create every second).
const ROUNDS: usize = 150;

/// Objects per subject before the mirror starts.
const OBJECTS: usize = 1000;

pub async fn run(kind: Kind, store: &str) {
    let started = Instant::now();
    let t = Arc::new(Tripletex::start(kind).await);
    let mut ids = BTreeMap::new();
    for (_, path, _) in SUBJECTS {
        ids.insert(path, t.create_many(path, OBJECTS).await);
    }
    audit::install(store).await;
    let listen = free_address();

    // Other clients write during the backfill, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let others = tokio::spawn(write_until(Arc::clone(&t), ids, Arc::clone(&stop)));

    // The first mirror process is SIGKILLed mid-backfill of the first subject.
    let mut first = spawn_mirror(&t, store, &listen);
    let first_subject = SUBJECTS[0].1;
    let killed_at = first
        .wait_for_line("a few committed pages", |line| {
            pages_of(line, first_subject).filter(|pages| *pages >= 4)
        })
        .await;
    first.kill().await;

    // The receiver is down: deliveries of these writes fail.
    let lost = t.create(first_subject, "while the receiver is down").await;
    eventually_within(BACKLOG, "a failed delivery", || async {
        t.attempted(lost).await.then_some(())
    })
    .await;

    // A new process on the same store continues the backfill.
    let second = spawn_mirror(&t, store, &listen);
    let resumed_at = second
        .wait_for_line("its first page", |line| pages_of(line, first_subject))
        .await;
    assert!(
        resumed_at > killed_at,
        "the backfill restarted from zero: {resumed_at} pages after {killed_at}"
    );
    // Each subject's end, each wait bounded on its own.
    for (_, path, _) in SUBJECTS {
        let done = format!("PROGRESS {path} ");
        second
            .wait_for_line("the end of a subject's backfill", |l| {
                (l.starts_with(&done) && l.contains("done=true")).then_some(())
            })
            .await;
    }
    second
        .wait_for_line("the end of the start", |l| {
            l.starts_with("STARTED").then_some(())
        })
        .await;
    stop.store(true, Ordering::SeqCst);
    let writes = others.await.unwrap();

    lose_deliveries(&t, &listen).await;
    settle(&t).await;
    let report = control(&listen, "health").await;
    assert!(report["reenabled"].as_u64() > Some(0), "{report}");
    let repaired = report["repaired_updates"].as_u64().unwrap_or_default()
        + report["repaired_deletes"].as_u64().unwrap_or_default();
    assert!(repaired > 0, "the lost deliveries were repaired: {report}");
    drop(second);

    let differences = compare(&t, store).await;
    assert_eq!(differences, Vec::<String>::new(), "local copy differs");
    let (written, regressions) = audit::counts(store).await;
    assert!(written >= i64::try_from(3 * OBJECTS).unwrap(), "{written}");
    assert_eq!(regressions, 0, "a stored version went backwards");
    println!(
        "chaos {kind:?} on {}: {writes} writes by others, {written} store writes, \
         killed at {killed_at} pages, resumed at {resumed_at}, report {report}, {:.1?}",
        store.split(':').next().unwrap_or_default(),
        started.elapsed()
    );
}

/// An address for the mirror's receiver, the same across its restarts.
fn free_address() -> String {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

fn spawn_mirror(t: &Tripletex, store: &str, listen: &str) -> Process {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .env(CHILD, "1")
        .env(BASE_URL, &t.base_url)
        .env(TOKEN, t.token())
        .env(STORE, store)
        .env(LISTEN, listen)
        .env("RUST_LOG", "warn");
    Process::spawn("the mirror process", command)
}

/// The committed pages of `subject` in a progress line.
fn pages_of(line: &str, subject: &str) -> Option<i64> {
    let rest = line.strip_prefix("PROGRESS ")?.strip_prefix(subject)?;
    let pages = rest.split_whitespace().next()?.strip_prefix("pages=")?;
    pages.parse().ok()
}

/// Updates, creates and deletes across the subjects until `stop` (at most
/// [`ROUNDS`] rounds, so a slow store is not buried); how many.
async fn write_until(
    t: Arc<Tripletex>,
    mut ids: BTreeMap<&'static str, Vec<i64>>,
    stop: Arc<AtomicBool>,
) -> usize {
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let mut writes = 0;
    for round in 0..ROUNDS {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        for (_, path, _) in SUBJECTS {
            let live = ids.get_mut(path).unwrap();
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let pick = usize::try_from(random % live.len() as u64).unwrap();
            t.update(path, live[pick], &format!("{path} update {round}"))
                .await;
            writes += 1;
            if round % 3 == 0 {
                t.delete(path, live.swap_remove(pick)).await;
                writes += 1;
            }
            if round % 2 == 0 {
                live.push(t.create(path, &format!("{path} new {round}")).await);
                writes += 1;
            }
        }
    }
    writes
}

/// The receiver answers 503 while changes are made, its subscriptions are
/// disabled, and more changes are made (lost), then it is up again.
async fn lose_deliveries(t: &Tripletex, listen: &str) {
    control(listen, "down").await;
    let mut last = 0;
    for (_, path, _) in SUBJECTS {
        last = t.create(path, "while refused").await;
    }
    eventually_within(BACKLOG, "a refused delivery", || async {
        t.attempted(last).await.then_some(())
    })
    .await;
    t.advance(7.0 * 86_400.0 + 3600.0).await;
    eventually_within(BACKLOG, "a disabled subscription", || async {
        let statuses = t.subscription_statuses().await;
        statuses
            .iter()
            .any(|s| s == "DISABLED_TOO_MANY_ERRORS")
            .then_some(())
    })
    .await;
    for (_, path, _) in SUBJECTS {
        let id = t.create(path, "lost").await;
        t.update(path, id, "lost, renamed").await;
    }
    control(listen, "up").await;
}

/// Waits until the server has no delivery left to attempt (moving its
/// clock on, so retries come due): a late retry lands before the resync.
async fn settle(t: &Tripletex) {
    eventually_within(BACKLOG, "no pending delivery", || async {
        if t.deliveries("pending").await == 0 {
            return Some(());
        }
        t.advance(86_400.0).await;
        None
    })
    .await;
}

async fn control(listen: &str, what: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("http://{listen}/control/{what}"))
        .timeout(BACKLOG)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{what}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// Every difference between the server's objects and the local copy.
async fn compare(t: &Tripletex, store: &str) -> Vec<String> {
    let local = Store::open(store, Arc::new(|| 0)).await.unwrap();
    let mut differences = Vec::new();
    for (_, path, fields) in SUBJECTS {
        let server: BTreeMap<i64, Value> = t
            .list(path, fields)
            .await
            .into_iter()
            .map(|o| (o["id"].as_i64().unwrap(), o))
            .collect();
        let mirrored: BTreeMap<i64, Value> = local
            .objects(path)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| !o.deleted)
            .map(|o| (o.id, o.data.unwrap_or_default()))
            .collect();
        for (id, object) in &server {
            match mirrored.get(id) {
                Some(copy) if copy == object => {}
                Some(copy) => differences.push(format!("{path} {id}: {copy} != {object}")),
                None => differences.push(format!("{path} {id}: missing locally")),
            }
        }
        for id in mirrored.keys().filter(|id| !server.contains_key(id)) {
            differences.push(format!("{path} {id}: deleted on the server"));
        }
    }
    differences
}
