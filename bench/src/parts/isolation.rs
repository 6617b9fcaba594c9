//! Part 3, isolation: the commit-to-receipt latency of a healthy
//! subscription at 1,000 events/s while 10% of the targets never answer,
//! against the same run with every target healthy.
//!
//! Ten targets, each with its own loopback port (so its own per-target
//! limit): the measured one is subscribed to `product.create`, fed by 1,000
//! creates/s through the API; the nine others are subscribed to other events
//! (`customer.create`, ...) fed through the emulator API at
//! [`BACKGROUND_RATE`] each. In the degraded run one of the ten (10%) is a
//! blackhole: it accepts connections and never answers, so each attempt to it
//! holds a connection until the 10 s attempt timeout. The two conditions
//! alternate, each on a fresh server, in five pairs; the verdict goes by the
//! median pair's p99 ratio (the pooled one is shown too).

use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use super::{Local, PATIENCE, latencies, open_loop_creates};
use crate::Res;
use crate::noise::NoiseProbe;
use crate::report::{Row, Verdict};
use crate::sink::{Blackhole, Sink};
use crate::stats::{Latencies, PairedRounds, ms};

const PART: &str = "isolation";
/// Events per second to each of the nine other targets.
const BACKGROUND_RATE: u32 = 20;
/// The measured subscription's event rate.
const RATE: u32 = 1_000;
/// The events of the nine other targets; the last one's target is the
/// blackhole in the degraded run.
const OTHER_EVENTS: [&str; 9] = [
    "customer.create",
    "supplier.create",
    "employee.create",
    "contact.create",
    "project.create",
    "order.create",
    "customer.update",
    "supplier.update",
    "employee.update",
];

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let (rounds, seconds) = if quick { (1, 3) } else { (5, 10) };
    let mut latencies = PairedRounds::default();
    let probe = NoiseProbe::start();
    for round in 1..=rounds {
        eprintln!("   round {round}/{rounds}: every target healthy");
        let healthy = one_run(false, seconds).await?;
        eprintln!("   round {round}/{rounds}: 1 of 10 targets a blackhole");
        let degraded = one_run(true, seconds).await?;
        eprintln!(
            "   round {round}/{rounds}: p99 {} healthy, {} with the blackhole",
            ms(healthy.p99()),
            ms(degraded.p99())
        );
        latencies.add(&healthy, &degraded);
    }
    let noise = probe.stop();
    let (healthy, degraded) = (&latencies.baseline, &latencies.tested);
    let what = format!("{rounds} × {seconds} s per condition");
    Ok(vec![
        Row::info(
            PART,
            format!(
                "healthy subscription at 1,000 events/s, every target healthy: p50 / p99 ({what})"
            ),
            format!("{} / {}", ms(healthy.p50()), ms(healthy.p99())),
        ),
        Row::info(
            PART,
            "the same while 1 of 10 targets (10%) never answers: p50 / p99",
            format!("{} / {}", ms(degraded.p50()), ms(degraded.p99())),
        ),
        Row::new(
            PART,
            "p99 rise caused by the dead target",
            latencies.describe(),
            "< +10%",
            noise.judge(
                Verdict::from(latencies.median_change() < 0.10).unless_saturated(healthy.p99()),
            ),
        ),
        noise.row(PART, "these runs"),
    ])
}

/// One run on a fresh server; the measured subscription's latencies.
async fn one_run(with_blackhole: bool, seconds: u32) -> Res<Latencies> {
    let local = Local::start().await?;
    let measured = Sink::start().await?;
    local
        .api
        .subscribe("product.create", measured.url())
        .await?;
    let mut others = Vec::new();
    let mut blackhole = None;
    for (i, event) in OTHER_EVENTS.into_iter().enumerate() {
        if with_blackhole && i == OTHER_EVENTS.len() - 1 {
            let hole = Blackhole::start().await?;
            local.api.subscribe(event, hole.url()).await?;
            blackhole = Some(hole);
        } else {
            let sink = Sink::start().await?;
            local.api.subscribe(event, sink.url()).await?;
            others.push(sink);
        }
    }
    // The background: each other event at BACKGROUND_RATE, open loop.
    let total = u64::from(BACKGROUND_RATE) * u64::from(seconds);
    let mut background = JoinSet::new();
    for (index, event) in OTHER_EVENTS.into_iter().enumerate() {
        let api = local.api.clone();
        let base = i64::try_from(index)? * 10_000_000;
        background.spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(1) / BACKGROUND_RATE);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut emits = JoinSet::new();
            for n in 0..total {
                interval.tick().await;
                let api = api.clone();
                let id = base + i64::try_from(n)? + 1;
                emits.spawn(async move {
                    let value = json!({"id": id, "version": 0, "name": format!("background {id}")});
                    api.emit(event, id, &value).await
                });
            }
            while let Some(done) = emits.join_next().await {
                done??;
            }
            Res::Ok(())
        });
    }
    let sent = open_loop_creates(&local.api, RATE, seconds).await?;
    while let Some(done) = background.join_next().await {
        done??;
    }
    measured.wait_for(sent.len(), PATIENCE).await?;
    let expected = usize::try_from(total)?;
    for sink in &others {
        sink.wait_for(expected, PATIENCE).await?;
    }
    // Closing the blackhole's connections ends the attempts held there, so
    // the shutdown does not wait for their timeout.
    drop(blackhole);
    local.stop().await?;
    latencies(&measured, &sent)
}
