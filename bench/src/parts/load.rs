//! Part 8, load: the workload users run, measured from outside. Three
//! processes: the release server binary (`tripletex-webhooks-server`, as a
//! user starts it, on a SQLite file in a temporary directory), this process
//! as the load generator posting ~1.45 KB products to `POST /v2/product`
//! with Basic auth, and a loopback receiver in a process of its own (this
//! binary re-run with `__receive`) with one `product.create` subscription.
//!
//! - **Ceiling**: plain POSTs of a callback-sized envelope from here to the
//!   receiver, 64 in flight: what this machine's HTTP stack allows.
//! - **Open loop** at 500 and 1,000 creates/s for 20 s (5 s with `--quick`):
//!   commit-ack → receipt percentiles, from the moment the `201` arrived here
//!   to the callback's arrival at the receiver (both on the wall clock, the
//!   one clock the processes share), matched by object id; and the API's own
//!   latency (sent → `201`).
//! - **Closed loop**: 64 senders, 20,000 creates (2,000 with `--quick`):
//!   ingest/s (first send to last `201`), delivery/s over the same span and to
//!   the last receipt, the backlog left when ingest ended, the ack → receipt
//!   percentiles, the server's CPU time and how busy the whole host was.
//! - **Storage** after the closed loop: the database file and its WAL once
//!   every callback arrived, and the file alone after the server stopped and
//!   a `wal_checkpoint(TRUNCATE)`, per delivered message.
//! - **The closed loop again with `--durability power`** (each create synced
//!   before its `201`): creates/s, deliveries/s and ack → receipt p99.
//!
//! A fresh server and database serve each run. `BENCH_SERVER_ARGS` (flags
//! separated by spaces) is passed to every server process, to measure a
//! setting such as `--max-in-flight-per-target 64` against the default.

mod clock;
mod processes;
pub(crate) mod receiver;
mod traffic;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use processes::{ReceiverProcess, ServerProcess, server_binary};
use traffic::{Create, Creator};

use super::PATIENCE;
use crate::Res;
use crate::noise::NoiseProbe;
use crate::report::{Row, Verdict};
use crate::stats::{Latencies, ms, per_second, thousands, to_f64};

const PART: &str = "load";
const SENDERS: usize = 64;

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (creates, seconds) = if quick { (2_000, 5) } else { (20_000, 20) };
    let binary = server_binary().await?;
    let receiver = ReceiverProcess::start().await?;
    let mut rows = Vec::new();
    let ceiling = traffic::ceiling(&receiver.origin, creates).await?;
    rows.push(Row::info(
        PART,
        format!(
            "ceiling: plain POSTs of a 1.45 KB envelope to the receiver process, 64 in flight, {} requests",
            thousands(to_f64(creates))
        ),
        format!("{}/s", thousands(ceiling)),
    ));
    for rate in [500, 1_000] {
        rows.extend(open_loop(&binary, &receiver, rate, seconds).await?);
    }
    rows.extend(closed_loop(&binary, &receiver, creates, ceiling).await?);
    rows.push(power_closed_loop(&binary, &receiver, creates).await?);
    receiver.stop().await?;
    Ok(rows)
}

/// One server process on a fresh database with one subscription to the
/// receiver, and a load generator for it.
struct Run {
    server: ServerProcess,
    creator: Creator,
    database: PathBuf,
    _dir: tempfile::TempDir,
}

impl Run {
    async fn start(binary: &Path, receiver: &ReceiverProcess) -> Res<Self> {
        Self::start_with(binary, receiver, &[]).await
    }

    /// [`Run::start`], the server given `extra` flags after those of
    /// `BENCH_SERVER_ARGS`.
    async fn start_with(binary: &Path, receiver: &ReceiverProcess, extra: &[&str]) -> Res<Self> {
        receiver.reset().await?;
        let dir = tempfile::tempdir()?;
        let database = dir.path().join("load.db");
        let mut args = server_args();
        args.extend(extra.iter().map(|&arg| arg.to_owned()));
        let server = ServerProcess::start(binary, &database, &args).await?;
        let http = reqwest::Client::new();
        let token = server.session_token(&http).await?;
        let subscribed = http
            .post(format!("{}/event/subscription", server.base))
            .basic_auth("0", Some(&token))
            .json(&serde_json::json!({
                "event": "product.create",
                "targetUrl": format!("{}/hook", receiver.origin),
            }))
            .send()
            .await?;
        if subscribed.status() != reqwest::StatusCode::CREATED {
            return Err(format!("subscribing answered {}", subscribed.status()).into());
        }
        let creator = Creator::new(&server.base, token)?;
        Ok(Self {
            server,
            creator,
            database,
            _dir: dir,
        })
    }
}

/// The extra server flags of `BENCH_SERVER_ARGS`.
fn server_args() -> Vec<String> {
    std::env::var("BENCH_SERVER_ARGS")
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// "p50 / p99 / max" of `latencies`.
fn spread(latencies: &Latencies) -> String {
    format!(
        "{} / {} / {}",
        ms(latencies.p50()),
        ms(latencies.p99()),
        ms(latencies.quantile(1.0))
    )
}

/// Open loop at `rate` creates/s for `seconds`.
async fn open_loop(
    binary: &Path,
    receiver: &ReceiverProcess,
    rate: u32,
    seconds: u32,
) -> Res<Vec<Row>> {
    eprintln!("   open loop: {rate} creates/s for {seconds} s");
    let run = Run::start(binary, receiver).await?;
    let probe = NoiseProbe::start();
    let creates = traffic::open_loop(&run.creator, rate, seconds).await?;
    receiver.wait_for(creates.len(), PATIENCE).await?;
    let noise = probe.stop();
    let arrivals = receiver.arrivals().await?;
    run.server.stop().await?;
    let receipts = Receipts::match_up(&creates, &arrivals)?;
    let api = api_latencies(&creates);
    let rate_text = thousands(f64::from(rate));
    let mut rows = vec![Row::info(
        PART,
        format!(
            "open loop {rate_text} creates/s, {seconds} s: API latency (sent → 201) p50 / p99 / max"
        ),
        spread(&api),
    )];
    let result = format!(
        "**{}**{}",
        spread(&receipts.latencies),
        receipts.early_note()
    );
    if rate == 1_000 {
        let (p50, p99) = (receipts.latencies.p50(), receipts.latencies.p99());
        rows.push(Row::new(
            PART,
            format!(
                "open loop {rate_text} creates/s, {seconds} s: commit-ack → receipt p50 / p99 / max"
            ),
            result,
            "p50 < 2 ms, p99 < 10 ms",
            noise.judge(Verdict::from(
                p50 < Duration::from_millis(2) && p99 < Duration::from_millis(10),
            )),
        ));
    } else {
        rows.push(Row::info(
            PART,
            format!(
                "open loop {rate_text} creates/s, {seconds} s: commit-ack → receipt p50 / p99 / max"
            ),
            result,
        ));
    }
    rows.push(noise.row(PART, &format!("the {rate_text}/s open loop")));
    Ok(rows)
}

/// The closed loop: 64 senders, `total` creates; then the storage it took.
async fn closed_loop(
    binary: &Path,
    receiver: &ReceiverProcess,
    total: u64,
    ceiling: f64,
) -> Res<Vec<Row>> {
    eprintln!("   closed loop: {SENDERS} senders, {total} creates");
    let run = Run::start(binary, receiver).await?;
    let probe = NoiseProbe::start();
    let host_before = HostTicks::read()?;
    let cpu_before = run.server.cpu_time()?;
    let creates = traffic::closed_loop(&run.creator, SENDERS, total).await?;
    let host_busy = HostTicks::read()?.busy_since(&host_before);
    receiver.wait_for(creates.len(), PATIENCE).await?;
    let cpu = run.server.cpu_time()?.saturating_sub(cpu_before);
    let noise = probe.stop();
    let arrivals = receiver.arrivals().await?;
    let with_wal = file_size(&run.database) + file_size(&run.database.with_extension("db-wal"));
    run.server.stop().await?;
    let checkpointed = checkpointed_size(&run.database).await?;
    let receipts = Receipts::match_up(&creates, &arrivals)?;
    let pace = Pace::of(&creates, &arrivals);
    let mut rows = pace.rows(ceiling, host_busy, cpu, total);
    let p99 = receipts.latencies.p99();
    rows.push(Row::new(
        PART,
        "closed loop: commit-ack → receipt p50 / p99 / max",
        format!(
            "**{}**{}",
            spread(&receipts.latencies),
            receipts.early_note()
        ),
        "p99 < 50 ms",
        noise.judge(Verdict::from(p99 < Duration::from_millis(50))),
    ));
    rows.push(noise.row(PART, "the closed loop"));
    rows.push(storage_row(checkpointed, with_wal, receipts.delivered));
    Ok(rows)
}

/// The closed loop under `--durability power`: one row.
async fn power_closed_loop(binary: &Path, receiver: &ReceiverProcess, total: u64) -> Res<Row> {
    eprintln!("   closed loop with --durability power: {SENDERS} senders, {total} creates");
    let run = Run::start_with(binary, receiver, &["--durability", "power"]).await?;
    let creates = traffic::closed_loop(&run.creator, SENDERS, total).await?;
    receiver.wait_for(creates.len(), PATIENCE).await?;
    let arrivals = receiver.arrivals().await?;
    run.server.stop().await?;
    let receipts = Receipts::match_up(&creates, &arrivals)?;
    let pace = Pace::of(&creates, &arrivals);
    Ok(Row::new(
        PART,
        format!(
            "closed loop with `--durability power` (each create synced before its 201), \
             {SENDERS} senders, {} creates: API creates/s; deliveries/s; ack → receipt p99",
            thousands(to_f64(total))
        ),
        format!(
            "**{}/s**; {}/s; {}{}",
            thousands(pace.ingest),
            thousands(pace.delivered_overall),
            ms(receipts.latencies.p99()),
            receipts.early_note()
        ),
        ">= 5,000/s",
        Verdict::from(pace.ingest >= 5_000.0),
    ))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The database after a `wal_checkpoint(TRUNCATE)`: the file's size, and
/// the bytes of its live pages (free pages left out).
async fn checkpointed_size(database: &Path) -> Res<(u64, u64)> {
    use sqlx::ConnectOptions as _;
    let mut connection =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", database.display()))?
            .connect()
            .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await?;
    let (live,): (i64,) = sqlx::query_as(
        "SELECT (page_count - freelist_count) * page_size \
         FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
    )
    .fetch_one(&mut connection)
    .await?;
    sqlx::Connection::close(connection).await?;
    Ok((file_size(database), u64::try_from(live)?))
}

fn storage_row((file, live): (u64, u64), with_wal: u64, delivered: u64) -> Row {
    let per = |bytes: u64| to_f64(bytes) / to_f64(delivered.max(1));
    let mib = |bytes: u64| to_f64(bytes) / f64::from(1 << 20);
    Row::new(
        PART,
        format!(
            "SQLite bytes per delivered message after the closed loop ({} messages, schema \
             included): the database file after a TRUNCATE checkpoint (its live pages; the file \
             and its WAL before the stop)",
            thousands(to_f64(delivered))
        ),
        format!(
            "**{} bytes** ({} bytes; {} bytes): {:.1} MiB ({:.1} MiB; {:.1} MiB)",
            thousands(per(file)),
            thousands(per(live)),
            thousands(per(with_wal)),
            mib(file),
            mib(live),
            mib(with_wal)
        ),
        "< 1,536 bytes",
        Verdict::from(per(file) < 1536.0),
    )
}

/// The API's own latency of each create (sent → `201`).
fn api_latencies(creates: &[Create]) -> Latencies {
    let mut latencies = Latencies::new();
    for create in creates {
        latencies.record(micros(create.acked_us - create.sent_us));
    }
    latencies
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

/// Commit-ack → receipt latencies, matched by object id.
struct Receipts {
    latencies: Latencies,
    /// Distinct objects delivered.
    delivered: u64,
    /// Callbacks that arrived before their `201` did (counted as 0).
    early: u64,
}

impl Receipts {
    /// Each create's first arrival; fails unless every create arrived.
    fn match_up(creates: &[Create], arrivals: &[(i64, i64)]) -> Res<Self> {
        let mut first: HashMap<i64, i64> = HashMap::with_capacity(arrivals.len());
        for &(id, at) in arrivals {
            first
                .entry(id)
                .and_modify(|earliest| *earliest = (*earliest).min(at))
                .or_insert(at);
        }
        let mut latencies = Latencies::new();
        let mut early = 0;
        for create in creates {
            let at = first
                .get(&create.id)
                .ok_or_else(|| format!("product {} was never delivered", create.id))?;
            if *at < create.acked_us {
                early += 1;
            }
            latencies.record(micros(at - create.acked_us));
        }
        Ok(Self {
            latencies,
            delivered: crate::stats::count(creates.len()),
            early,
        })
    }

    fn early_note(&self) -> String {
        if self.early == 0 {
            String::new()
        } else {
            format!(
                "; {} callbacks arrived before their 201, counted as 0",
                thousands(to_f64(self.early))
            )
        }
    }
}

/// Whether delivery kept pace with ingest in a closed loop.
#[derive(Debug, PartialEq)]
struct Pace {
    /// Creates answered a second, from the first send to the last `201`.
    ingest: f64,
    /// Callbacks a second over that same span.
    delivered_during: f64,
    /// Callbacks a second from the first send to the last receipt.
    delivered_overall: f64,
    /// Creates answered and not yet delivered when the last `201` arrived.
    backlog_at_end: u64,
    /// That backlog over the ingest span.
    backlog_growth: f64,
}

impl Pace {
    fn of(creates: &[Create], arrivals: &[(i64, i64)]) -> Self {
        let start = creates.iter().map(|c| c.sent_us).min().unwrap_or(0);
        let end = creates.iter().map(|c| c.acked_us).max().unwrap_or(start);
        let last = arrivals.iter().map(|a| a.1).max().unwrap_or(end);
        let span = micros(end - start);
        let during = crate::stats::count(arrivals.iter().filter(|a| a.1 <= end).count());
        let total = crate::stats::count(creates.len());
        let backlog_at_end = total.saturating_sub(during);
        Self {
            ingest: per_second(total, span),
            delivered_during: per_second(during, span),
            delivered_overall: per_second(
                crate::stats::count(arrivals.len()),
                micros(last - start),
            ),
            backlog_at_end,
            backlog_growth: per_second(backlog_at_end, span),
        }
    }

    fn rows(&self, ceiling: f64, host_busy: f64, cpu: Duration, total: u64) -> Vec<Row> {
        let share = |rate: f64| rate / ceiling.max(1.0) * 100.0;
        let core_ms = cpu.as_secs_f64() * 1000.0 / to_f64(total.max(1));
        vec![
            Row::new(
                PART,
                format!(
                    "closed loop, {SENDERS} senders, {} creates: API creates/s (each committed, \
                     with one subscription); server CPU; host busy while ingesting",
                    thousands(to_f64(total))
                ),
                format!(
                    "**{}/s** ({:.0}% of the ceiling); {core_ms:.2} core-ms a message; host {:.0}% busy",
                    thousands(self.ingest),
                    share(self.ingest),
                    host_busy * 100.0
                ),
                ">= 10,000/s",
                Verdict::from(self.ingest >= 10_000.0),
            ),
            Row::new(
                PART,
                "closed loop: deliveries/s while ingesting (to the last receipt); backlog left \
                 when ingest ended, and its growth a second",
                format!(
                    "**{}/s** ({}/s); {} left, +{}/s",
                    thousands(self.delivered_during),
                    thousands(self.delivered_overall),
                    thousands(to_f64(self.backlog_at_end)),
                    thousands(self.backlog_growth)
                ),
                ">= ingest/s (within 1%)",
                Verdict::from(self.delivered_overall >= self.ingest * 0.99),
            ),
        ]
    }
}

/// The host's CPU ticks from `/proc/stat`: busy and all.
struct HostTicks {
    busy: u64,
    all: u64,
}

impl HostTicks {
    fn read() -> Res<Self> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        Self::parse(&stat).ok_or_else(|| "cannot read /proc/stat".into())
    }

    /// The `cpu` line: user nice system idle iowait irq softirq steal ...
    fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let all: u64 = ticks.iter().sum();
        let idle = ticks.get(3)? + ticks.get(4)?;
        Some(Self {
            busy: all - idle,
            all,
        })
    }

    /// The share of the host's CPU time that was busy since `before`.
    fn busy_since(&self, before: &Self) -> f64 {
        let all = self.all.saturating_sub(before.all);
        to_f64(self.busy.saturating_sub(before.busy)) / to_f64(all.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(id: i64, sent_us: i64, acked_us: i64) -> Create {
        Create {
            id,
            sent_us,
            acked_us,
        }
    }

    #[test]
    fn receipts_match_by_id_take_the_first_arrival_and_count_early_ones() {
        let creates = [create(1, 0, 1_000), create(2, 0, 2_000)];
        let arrivals = [(2, 2_500), (1, 4_000), (2, 1_500), (1, 900)];
        let receipts = Receipts::match_up(&creates, &arrivals).unwrap();
        assert_eq!((receipts.delivered, receipts.early), (2, 2));
        assert_eq!(receipts.latencies.quantile(1.0), Duration::from_micros(1));
        assert!(
            receipts
                .early_note()
                .contains("2 callbacks arrived before their 201")
        );
    }

    #[test]
    fn a_create_never_delivered_fails_the_run() {
        let creates = [create(1, 0, 1_000), create(2, 0, 2_000)];
        assert!(Receipts::match_up(&creates, &[(1, 1_500), (1, 1_600)]).is_err());
    }

    #[test]
    fn pace_counts_the_backlog_left_when_ingest_ends() {
        // Four creates over one second; one of them delivered after it.
        let creates = [
            create(1, 0, 250_000),
            create(2, 0, 500_000),
            create(3, 0, 750_000),
            create(4, 0, 1_000_000),
        ];
        let arrivals = [(1, 300_000), (2, 600_000), (3, 900_000), (4, 2_000_000)];
        let pace = Pace::of(&creates, &arrivals);
        assert!((pace.ingest - 4.0).abs() < 1e-9);
        assert!((pace.delivered_during - 3.0).abs() < 1e-9);
        assert!((pace.delivered_overall - 2.0).abs() < 1e-9);
        assert_eq!(pace.backlog_at_end, 1);
        assert!((pace.backlog_growth - 1.0).abs() < 1e-9);
    }

    #[test]
    fn host_ticks_come_from_the_cpu_line() {
        let stat = "cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 5 0 5 35 5 0 0 0 0 0\n";
        let ticks = HostTicks::parse(stat).unwrap();
        assert_eq!((ticks.busy, ticks.all), (20, 100));
        let later = HostTicks { busy: 70, all: 200 };
        assert!((later.busy_since(&ticks) - 0.5).abs() < 1e-9);
        assert!(HostTicks::parse("intr 1 2 3\n").is_none());
    }
}
