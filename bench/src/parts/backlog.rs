//! Part 4, backlog: the server with 1,000,000 pending retries in its outbox.
//!
//! Two databases are prepared alike: a server process (this binary run with
//! `__serve-sqlite`) creates one `product.create` subscription to a loopback
//! receiver and 100 `customer.update` subscriptions whose receivers are down,
//! and stops. Into one of them the benchmark then inserts the backlog
//! directly with sqlx (100,000-row transactions): messages of those 100
//! subscriptions about 10,000 customers, `pending` after 1 to 8 failed
//! attempts, due again in 30 days, keyed as the server keys messages (the
//! enqueue time, then random bits: here one millisecond apart before the
//! run), as the schema of
//! `tripletex-webhooks-server/migrations/sqlite` has them. Then a
//! server process runs on each file in turn: its resident memory
//! (`/proc/<pid>/status`) when started and after a run of fresh events at
//! 1,000/s, and the commit-to-receipt latency of those events. The two
//! alternate in five pairs; the verdict goes by the median pair's p99 ratio
//! (the pooled one is shown too).

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{PATIENCE, latencies, open_loop_creates};
use crate::Res;
use crate::api::Api;
use crate::child::ChildServer;
use crate::noise::NoiseProbe;
use crate::report::{Row, Verdict};
use crate::sink::Sink;
use crate::stats::{Latencies, PairedRounds, ms, thousands, to_f64};

const PART: &str = "backlog";
const RATE: u32 = 1_000;
/// Subscriptions whose receivers are down, sharing the backlog.
const DOWN_SUBSCRIPTIONS: i64 = 100;
/// Rows per insert transaction.
const CHUNK: i64 = 100_000;

/// Inserts rows `[?1, ?2)` of the backlog: subscription `?4 + n % ?5`,
/// customer `1,000,000 + n / ?5`, company `?3`, due at `?7 + n`.
const INSERT: &str = "WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < ?2)
INSERT INTO messages (company_id, subscription_id, event, subject, object_id, object_version, payload,
    idempotency_key, status, attempts, next_attempt_at_ms, lease_until_ms, created_at_ms, finished_at_ms,
    last_error)
SELECT ?3, ?4 + n % ?5, 'customer.update', 'customer', 1000000 + n / ?5, 1 + n % 3,
    json_object('id', 1000000 + n / ?5, 'version', 1 + n % 3,
        'url', 'api.tripletex.io/v2/customer/' || (1000000 + n / ?5),
        'name', 'Backlog customer ' || (n / ?5), 'organizationNumber', printf('9%08d', n / ?5),
        'email', 'customer' || (n / ?5) || '@example.com', 'invoiceEmail', 'invoice@example.com',
        'isCustomer', json('true'), 'description', ?6),
    printf('%012x', ?8 - 1000000 + n) || lower(hex(randomblob(10))), 'pending', 1 + n % 8, ?7 + n, NULL, ?8, NULL,
    'connection failed: connection refused'
FROM seq";

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (backlog, rounds, seconds): (i64, u32, u32) = if quick {
        (100_000, 1, 3)
    } else {
        (1_000_000, 5, 4)
    };
    let empty_sink = Sink::start().await?;
    let backlog_sink = Sink::start().await?;
    let empty = Prepared::new(empty_sink.url()).await?;
    let full = Prepared::new(backlog_sink.url()).await?;
    eprintln!("   inserting {backlog} pending retries");
    let (inserted_in, size) = full.insert_backlog(backlog).await?;

    let mut empty_run = Measured::default();
    let mut full_run = Measured::default();
    let mut latencies = PairedRounds::default();
    let probe = NoiseProbe::start();
    for round in 1..=rounds {
        eprintln!("   round {round}/{rounds}: empty outbox");
        let empty_round = measure(&empty.db, &empty_sink, seconds).await?;
        empty_round.log(round, rounds, "empty outbox");
        eprintln!("   round {round}/{rounds}: {backlog} pending retries");
        let full_round = measure(&full.db, &backlog_sink, seconds).await?;
        full_round.log(round, rounds, "pending retries");
        latencies.add(&empty_round.latencies, &full_round.latencies);
        empty_run.add(&empty_round);
        full_run.add(&full_round);
    }
    let noise = probe.stop();
    let n = thousands(to_f64(u64::try_from(backlog)?));
    let mib = |kib: u64| format!("{:.0} MiB", to_f64(kib) / 1024.0);
    let what = format!("{rounds} × {seconds} s at 1,000 events/s after 1 s of warm-up");
    Ok(vec![
        Row::info(
            PART,
            format!(
                "{n} pending retries inserted directly into the outbox (sqlx, {} rows a transaction)",
                thousands(to_f64(u64::try_from(CHUNK)?))
            ),
            format!(
                "{:.1} s; database {:.0} MiB",
                inserted_in.as_secs_f64(),
                to_f64(size) / 1024.0 / 1024.0
            ),
        ),
        Row::info(
            PART,
            "server RSS, empty outbox: when started / after fresh events (peak)",
            format!(
                "{} / {} ({})",
                mib(empty_run.started),
                mib(empty_run.after),
                mib(empty_run.peak)
            ),
        ),
        Row::info(
            PART,
            format!(
                "server RSS with {n} pending retries: when started / after fresh events (peak)"
            ),
            format!(
                "**{} / {}** ({}; {:+.0} MiB against the empty outbox)",
                mib(full_run.started),
                mib(full_run.after),
                mib(full_run.peak),
                (to_f64(full_run.after) - to_f64(empty_run.after)) / 1024.0
            ),
        ),
        Row::info(
            PART,
            format!("fresh events, empty outbox: commit-to-receipt p50 / p99 ({what})"),
            format!(
                "{} / {}",
                ms(latencies.baseline.p50()),
                ms(latencies.baseline.p99())
            ),
        ),
        Row::info(
            PART,
            format!("fresh events with {n} pending retries: p50 / p99"),
            format!(
                "{} / {}",
                ms(latencies.tested.p50()),
                ms(latencies.tested.p99())
            ),
        ),
        Row::new(
            PART,
            format!("p99 change caused by {n} pending retries"),
            latencies.describe(),
            "within 10%",
            noise.judge(
                Verdict::from(latencies.median_change() <= 0.10)
                    .unless_saturated(latencies.baseline.p99()),
            ),
        ),
        noise.row(PART, "the fresh-event runs"),
    ])
}

/// A database prepared with the subscriptions, and its directory.
struct Prepared {
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prepared {
    async fn new(sink_url: &str) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("backlog.db");
        let child = ChildServer::start(&db).await?;
        let api = Api::new(child.base_url.clone(), child.token.clone())?;
        api.subscribe("product.create", sink_url).await?;
        for k in 0..DOWN_SUBSCRIPTIONS {
            api.subscribe("customer.update", &format!("http://127.0.0.1:9/down/{k}"))
                .await?;
        }
        child.stop().await?;
        Ok(Self { db, _dir: dir })
    }

    /// Inserts `count` pending retries; returns how long it took and the
    /// database's size.
    async fn insert_backlog(&self, count: i64) -> Res<(Duration, u64)> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", self.db.display()))?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Off);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let row = sqlx::query(
            "SELECT MIN(id), MAX(id), COUNT(*), MIN(company_id) FROM subscriptions WHERE event = 'customer.update'",
        )
        .fetch_one(&pool)
        .await?;
        let (first, last, subscriptions, company): (i64, i64, i64, i64) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        if subscriptions != DOWN_SUBSCRIPTIONS || last - first + 1 != subscriptions {
            return Err(format!("expected {DOWN_SUBSCRIPTIONS} consecutive subscriptions, found {subscriptions} in {first}..={last}").into());
        }
        let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
        let due = now_ms + 30 * 86_400_000;
        let description = "Wholesale customer since 2019; deliveries on Tuesdays and Thursdays, invoices by email, \
            net 14 days. Contact the purchasing office before changing the delivery address.";
        let started = Instant::now();
        let mut from = 0;
        while from < count {
            let to = (from + CHUNK).min(count);
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT)
                .bind(from)
                .bind(to)
                .bind(company)
                .bind(first)
                .bind(DOWN_SUBSCRIPTIONS)
                .bind(description)
                .bind(due)
                .bind(now_ms - 3_600_000)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            from = to;
        }
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await?;
        let inserted: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE status = 'pending'")
                .fetch_one(&pool)
                .await?;
        pool.close().await;
        // The rows were written without syncing; flush them to disk now, so
        // the server's first checkpoint does not wait for the kernel to write
        // back the whole file (a server that built its backlog over time
        // would not have it all dirty in the page cache).
        for path in [self.db.clone(), self.db.with_extension("db-wal")] {
            if path.exists() {
                std::fs::File::open(&path)?.sync_all()?;
            }
        }
        let took = started.elapsed();
        if inserted < count {
            return Err(format!("only {inserted} of {count} backlog rows are pending").into());
        }
        Ok((took, file_size(&self.db)))
    }
}

fn file_size(db: &Path) -> u64 {
    let size = |path: PathBuf| std::fs::metadata(path).map_or(0, |m| m.len());
    size(db.to_path_buf()) + size(db.with_extension("db-wal"))
}

/// The memory of a server on one database, the most of any run.
#[derive(Default)]
struct Measured {
    /// KiB resident when started.
    started: u64,
    /// KiB resident after the fresh events.
    after: u64,
    /// The process's peak, KiB.
    peak: u64,
}

impl Measured {
    fn add(&mut self, run: &Run) {
        self.started = self.started.max(run.started_kib);
        self.after = self.after.max(run.after_kib);
        self.peak = self.peak.max(run.peak_kib);
    }
}

struct Run {
    started_kib: u64,
    after_kib: u64,
    peak_kib: u64,
    latencies: Latencies,
}

impl Run {
    /// One round's latencies, for the log.
    fn log(&self, round: u32, rounds: u32, condition: &str) {
        eprintln!(
            "   round {round}/{rounds}: {condition}: p50 {} / p99 {}",
            ms(self.latencies.p50()),
            ms(self.latencies.p99())
        );
    }
}

/// Starts a server process on `db`, reads its memory, runs fresh events at
/// [`RATE`] for a second of warm-up and then `seconds`, reads its memory
/// again and stops it.
async fn measure(db: &Path, sink: &Sink, seconds: u32) -> Res<Run> {
    let child = ChildServer::start(db).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (started_kib, _) = child.memory_kib()?;
    let api = Api::new(child.base_url.clone(), child.token.clone())?;
    // A second of the same load first, not measured: the figures are for a
    // server that has been running, not for its first queries on a cold cache.
    sink.reset_count();
    let warm_up = open_loop_creates(&api, RATE, 1).await?;
    sink.wait_for(warm_up.len(), PATIENCE).await?;
    sink.reset_count();
    let sent = open_loop_creates(&api, RATE, seconds).await?;
    sink.wait_for(sent.len(), PATIENCE).await?;
    let (after_kib, peak_kib) = child.memory_kib()?;
    child.stop().await?;
    Ok(Run {
        started_kib,
        after_kib,
        peak_kib,
        latencies: latencies(sink, &sent)?,
    })
}
