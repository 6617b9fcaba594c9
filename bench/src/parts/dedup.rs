//! Part 5, dedup stores: memory per tracked object in `MemoryStore` at
//! 1,000,000 objects, and check-and-commit operations per second for each
//! store.
//!
//! A check-and-commit is what the receiver does for each delivery: claim the
//! object's new version ([`DedupStore::claim`]: is it new, and may this
//! replica handle it?) and, once handled, commit it
//! ([`DedupStore::commit`]: record the version, release the claim). 64 tasks
//! run them concurrently, each on its own objects with rising versions, so
//! every operation claims a fresh version and writes it.
//!
//! PostgreSQL and Redis are measured when `DATABASE_URL` / `REDIS_URL` are
//! set, each in a table / key prefix of its own that is removed afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tripletex_webhooks_receiver::dedup::{DedupKey, Mark};
use tripletex_webhooks_receiver::store::{
    Claim, DedupStore, Lease, MemoryStore, PostgresStore, RedisStore, SqliteStore,
};
use tripletex_webhooks_receiver::types::{ObjectKey, Subject};

use super::all;
use crate::child::own_rss_kib;
use crate::report::{Row, Verdict};
use crate::stats::{per_second, thousands, to_f64};
use crate::{BoxError, Res};

const PART: &str = "dedup";
const OBJECTS: i64 = 1_000_000;
const TASKS: usize = 64;
/// Objects per task, cycled with rising versions.
const OBJECTS_PER_TASK: i64 = 1_000;

fn product(id: i64) -> DedupKey {
    DedupKey::Object(ObjectKey {
        subject: Subject::Product,
        id,
    })
}

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let mut rows = memory_per_object().await?;
    let seconds = if quick { 1 } else { 3 };
    let memory: Arc<dyn DedupStore> = Arc::new(MemoryStore::new());
    rows.push(ops_row("MemoryStore", memory, seconds).await?);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("dedup.db").display());
    let sqlite = SqliteStore::connect(&url).await?;
    rows.push(ops_row("SqliteStore (file, WAL)", Arc::new(sqlite.clone()), seconds).await?);
    sqlite.close().await;
    rows.push(postgres(seconds).await);
    rows.push(redis(seconds).await);
    Ok(rows)
}

/// A store that could not be measured, and why.
fn skipped(store: &str, why: &str) -> Row {
    Row::new(
        PART,
        format!("{store}: check-and-commit operations/s"),
        format!("not measured: {why}"),
        "(reference)",
        Verdict::Skipped,
    )
}

/// `PostgresStore` on `DATABASE_URL`, in a table of its own.
async fn postgres(seconds: u64) -> Row {
    const NAME: &str = "PostgresStore";
    let Some(url) = std::env::var_os("DATABASE_URL") else {
        return skipped(NAME, "DATABASE_URL is not set");
    };
    let run = async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url.to_string_lossy())
            .await?;
        let table = format!("tripletex_webhooks_bench_dedup_{}", std::process::id());
        let store = PostgresStore::with_table(pool, &table).await?;
        let row = ops_row(NAME, Arc::new(store.clone()), seconds).await;
        store.drop_table().await?;
        store.close().await;
        row
    };
    // Set but failing is a failure, never a figure nor a skip.
    run.await.unwrap_or_else(|error: BoxError| {
        Row::failed(PART, &format!("{NAME} on DATABASE_URL: {error}"))
    })
}

/// `RedisStore` on `REDIS_URL`, under a key prefix of its own.
async fn redis(seconds: u64) -> Row {
    const NAME: &str = "RedisStore";
    let Some(url) = std::env::var_os("REDIS_URL") else {
        return skipped(NAME, "REDIS_URL is not set");
    };
    let run = async {
        let store = RedisStore::connect(&url.to_string_lossy())
            .await?
            .with_prefix(format!("tripletex-webhooks-bench:{}:", std::process::id()));
        let row = ops_row(NAME, Arc::new(store.clone()), seconds).await;
        store.clear().await?;
        row
    };
    // Set but failing is a failure, never a figure nor a skip.
    run.await.unwrap_or_else(|error: BoxError| {
        Row::failed(PART, &format!("{NAME} on REDIS_URL: {error}"))
    })
}

/// The hidden first argument that makes the bench binary measure
/// [`fill_memory_store`] in a process of its own and print the result.
pub(crate) const MEMORY_ARG: &str = "__dedup-memory";

/// The child's side: fills a `MemoryStore` with 1,000,000 objects in this
/// fresh process and prints `MEMORY <RSS growth in KiB> <estimate in bytes>`.
pub(crate) fn memory_main() -> std::process::ExitCode {
    let measured = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(BoxError::from)
        .and_then(|runtime| runtime.block_on(fill_memory_store()));
    match measured {
        Ok((rss_kib, estimate)) => {
            println!("MEMORY {rss_kib} {estimate}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench dedup memory: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The growth of this process's resident memory (KiB) and the store's own
/// estimate (bytes) once a `MemoryStore` holds [`OBJECTS`] objects.
async fn fill_memory_store() -> Res<(u64, usize)> {
    let before = own_rss_kib()?;
    let store = MemoryStore::new().with_capacity(usize::try_from(OBJECTS)?);
    for id in 1..=OBJECTS {
        store
            .record(&product(id), Mark::Version(id % 7 + 1))
            .await?;
    }
    let after = own_rss_kib()?;
    let len = store.len();
    if len != usize::try_from(OBJECTS)? {
        return Err(format!("the store holds {len} objects, not {OBJECTS}").into());
    }
    Ok((
        after.saturating_sub(before),
        store.approximate_memory_bytes(),
    ))
}

/// Memory per object of a `MemoryStore` holding 1,000,000 objects, measured
/// in a fresh process (this one's allocator already holds what earlier
/// parts freed, which would hide the growth).
async fn memory_per_object() -> Res<Vec<Row>> {
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .arg(MEMORY_ARG)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figures: Vec<u64> = stdout
        .strip_prefix("MEMORY ")
        .ok_or_else(|| format!("the memory child failed ({}): {stdout:?}", output.status))?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [rss_kib, estimate] = figures[..] else {
        return Err(format!("unexpected memory child output {stdout:?}").into());
    };
    let objects = to_f64(u64::try_from(OBJECTS)?);
    let rss_per_object = to_f64(rss_kib) * 1024.0 / objects;
    let estimate = to_f64(estimate) / objects;
    Ok(vec![Row::new(
        PART,
        "MemoryStore: memory per tracked object at 1,000,000 objects, in a fresh process (growth of its RSS; the store's own estimate)",
        format!("**{rss_per_object:.0} bytes** ({estimate:.0} bytes)"),
        "< 100 bytes",
        Verdict::from(rss_per_object < 100.0),
    )])
}

async fn ops_row(name: &str, store: Arc<dyn DedupStore>, seconds: u64) -> Res<Row> {
    eprintln!("   {name}: check-and-commit for {seconds} s");
    let (ops, elapsed) = check_and_commit(store, Duration::from_secs(seconds)).await?;
    Ok(Row::info(
        PART,
        format!(
            "{name}: check-and-commit (claim + commit) operations/s ({TASKS} tasks, every version new)"
        ),
        format!("**{}/s**", thousands(per_second(ops, elapsed))),
    ))
}

/// Runs check-and-commits from [`TASKS`] tasks for `duration`; returns how
/// many completed and how long they took.
async fn check_and_commit(store: Arc<dyn DedupStore>, duration: Duration) -> Res<(u64, Duration)> {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + duration;
    let timer = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline.into()).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    all(TASKS, |task| {
        let (store, done, stop) = (Arc::clone(&store), Arc::clone(&done), Arc::clone(&stop));
        async move {
            let base = i64::try_from(task)? * OBJECTS_PER_TASK + 1;
            let mut n: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = product(base + n % OBJECTS_PER_TASK);
                let mark = Mark::Version(n / OBJECTS_PER_TASK + 1);
                let lease = Lease::new(Duration::from_secs(30));
                match store.claim(&key, mark, &lease).await? {
                    Claim::Claimed { .. } => {}
                    other => {
                        return Err(BoxError::from(format!(
                            "{key} at {mark:?} was not claimed: {other:?}"
                        )));
                    }
                }
                store.commit(&key, mark, &lease).await?;
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
                // Let the timer and the other tasks run on a fast store.
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            Ok(())
        }
    })
    .await?;
    let elapsed = started.elapsed();
    timer.abort();
    Ok((done.load(Ordering::Relaxed), elapsed))
}
