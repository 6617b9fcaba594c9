//! Part 7, WAL: the SQLite write-ahead log under steady load. 1,000
//! `POST /v2/product`/s for ten minutes (20 s with `--quick`), each delivered
//! to one subscription, while the `-wal` file's size is sampled every 100 ms;
//! then the server stops and what is left is measured. Passes when the WAL
//! never reached 64 MiB and is gone (or empty) after the stop.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::{Local, PATIENCE, open_loop_creates};
use crate::Res;
use crate::report::{Row, Verdict};
use crate::sink::Sink;

const PART: &str = "wal";
const RATE: u32 = 1_000;
const LIMIT: u64 = 64 << 20;

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let seconds = if quick { 20 } else { 600 };
    eprintln!("   {RATE} creates/s for {seconds} s, sampling the WAL");
    let local = Local::start().await?;
    let wal = local.database_path().with_extension("db-wal");
    let sink = Sink::start().await?;
    local.api.subscribe("product.create", sink.url()).await?;

    let largest = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (largest, running, wal) = (Arc::clone(&largest), Arc::clone(&running), wal.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while running.load(Ordering::Relaxed) {
                tick.tick().await;
                largest.fetch_max(size(&wal), Ordering::Relaxed);
            }
        })
    };
    let sent = open_loop_creates(&local.api, RATE, seconds).await?;
    sink.wait_for(sent.len(), PATIENCE).await?;
    running.store(false, Ordering::Relaxed);
    sampler.await?;
    let during = largest.load(Ordering::Relaxed);
    let database = size(local.database_path());
    local.stop().await?;
    let after = size(&wal);
    let mib = |bytes: u64| {
        format!(
            "{:.1} MiB",
            crate::stats::to_f64(bytes) / f64::from(1 << 20)
        )
    };
    Ok(vec![Row::new(
        PART,
        format!(
            "SQLite WAL at {RATE} creates/s for {seconds} s, one subscription: largest during (after the stop; database)"
        ),
        format!("**{}** ({}; {})", mib(during), mib(after), mib(database)),
        "< 64 MiB, then empty",
        Verdict::from(during < LIMIT && after == 0),
    )])
}
