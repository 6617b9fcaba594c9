//! Part 2, delivery: durable deliveries per second for 1, 10 and 100
//! subscriptions, commit-to-receipt latency at 1,000 events/s, and the raw
//! ceiling of a plain reqwest client against the same receiver in the same
//! run.
//!
//! - **Ceiling**: plain reqwest POSTs of the same envelope to the same kind
//!   of receiver, 64 in flight: what this machine's HTTP stack allows.
//! - **Backlog drain** measures the delivery engine alone: the messages are
//!   created while the receiver answers 503 `Retry-After: 1h`, then it
//!   answers 200 and the server clock jumps an hour, so every message is due
//!   at once. Deliveries/s from the jump to the last arrival.
//! - **End to end** creates objects through `POST /v2/product` (32 in
//!   flight) while they are delivered; with one subscription it is bound by
//!   the API's create rate.
//! - **Latency** is from just before the create request is sent (an upper
//!   bound on the commit) to the receiver's arrival, at a fixed arrival rate
//!   (open loop).

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Local, PATIENCE, create_products, latencies, open_loop_creates};
use crate::Res;
use crate::noise::NoiseProbe;
use crate::report::{Row, Verdict};
use crate::sink::Sink;
use crate::stats::{count, ms, per_second, thousands};

const PART: &str = "delivery";
const RATE_TARGET: &str = ">= 5,000/s (aim 10,000)";
const RATE_MIN: f64 = 5_000.0;

pub(crate) async fn run(quick: bool) -> Res<Vec<Row>> {
    let scale = if quick { 10 } else { 1 };
    let mut rows = Vec::new();
    let ceiling = ceiling(20_000 / scale).await?;
    rows.push(Row::info(
        PART,
        format!(
            "ceiling: plain reqwest POSTs to the receiver, 64 in flight, {} requests",
            thousands(crate::stats::to_f64(20_000 / scale))
        ),
        format!("{}/s", thousands(ceiling)),
    ));
    for (subscriptions, events) in [(1, 20_000), (10, 2_000), (100, 200)] {
        rows.push(drain(subscriptions, events / scale, ceiling).await?);
    }
    for (subscriptions, events) in [(1, 20_000), (10, 2_000), (100, 200)] {
        rows.push(end_to_end(subscriptions, events / scale, ceiling).await?);
    }
    rows.extend(latency(1_000, if quick { 2 } else { 10 }).await?);
    Ok(rows)
}

/// "1 subscription", "10 subscriptions".
fn subs(n: usize) -> String {
    if n == 1 {
        "1 subscription".to_owned()
    } else {
        format!("{n} subscriptions")
    }
}

fn share(rate: f64, ceiling: f64) -> String {
    if ceiling > 0.0 {
        format!("{:.0}% of the ceiling", rate / ceiling * 100.0)
    } else {
        "no ceiling".to_owned()
    }
}

/// Plain reqwest POSTs of a delivery-sized envelope, 64 in flight.
async fn ceiling(requests: u64) -> Res<f64> {
    let sink = Sink::start().await?;
    super::post_ceiling(sink.url(), requests, |n| {
        Ok(serde_json::to_vec(&json!({
            "subscriptionId": 1, "event": "product.create", "id": n,
            "value": {"id": n, "version": 0, "url": format!("127.0.0.1/v2/product/{n}"),
                      "name": format!("bench product {n}"), "number": format!("B{n}"),
                      "description": "x".repeat(200)},
        }))?)
    })
    .await
}

async fn setup(subscriptions: usize) -> Res<(Local, Sink)> {
    let local = Local::start().await?;
    let sink = Sink::start().await?;
    for _ in 0..subscriptions {
        local.api.subscribe("product.create", sink.url()).await?;
    }
    Ok((local, sink))
}

/// Backlog drain of `events` × `subscriptions` messages.
async fn drain(subscriptions: usize, events: u64, ceiling: f64) -> Res<Row> {
    eprintln!("   drain: {}, {events} events", subs(subscriptions));
    let (local, sink) = setup(subscriptions).await?;
    let total = events * count(subscriptions);
    let total_usize = usize::try_from(total)?;
    sink.refuse(true);
    create_products(&local.api, events, 32).await?;
    sink.wait_for(total_usize, PATIENCE).await?;
    // Every refusal must be recorded before the jump, or its lease would be
    // what decides when it is due.
    let deadline = Instant::now() + PATIENCE;
    while local.api.messages_with_attempts(1).await? < total_usize {
        if Instant::now() > deadline {
            return Err("the refused attempts were not recorded in time".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.refuse(false);
    sink.reset_count();
    let started = Instant::now();
    local.server.clock().advance(Duration::from_secs(3600));
    sink.wait_for(total_usize, PATIENCE).await?;
    let elapsed = started.elapsed();
    local.stop().await?;
    let rate = per_second(total, elapsed);
    Ok(Row::new(
        PART,
        format!(
            "backlog drain, durable deliveries/s, {}, {} messages",
            subs(subscriptions),
            thousands(crate::stats::to_f64(total))
        ),
        format!(
            "**{}/s** ({:.2} s; {})",
            thousands(rate),
            elapsed.as_secs_f64(),
            share(rate, ceiling)
        ),
        RATE_TARGET,
        Verdict::from(rate >= RATE_MIN),
    ))
}

/// Closed loop: `events` creates (32 in flight), each delivered to
/// `subscriptions` subscriptions; deliveries/s from the first create to the
/// last arrival.
async fn end_to_end(subscriptions: usize, events: u64, ceiling: f64) -> Res<Row> {
    eprintln!("   end to end: {}, {events} events", subs(subscriptions));
    let (local, sink) = setup(subscriptions).await?;
    let total = events * count(subscriptions);
    let started = Instant::now();
    let creating = create_products(&local.api, events, 32).await?;
    sink.wait_for(usize::try_from(total)?, PATIENCE).await?;
    let elapsed = started.elapsed();
    local.stop().await?;
    let rate = per_second(total, elapsed);
    // With one subscription the figure is the API's create rate.
    let bound_by_api = subscriptions == 1;
    Ok(Row::new(
        PART,
        format!(
            "end to end (created through the API while delivered), deliveries/s, {}, {} events",
            subs(subscriptions),
            thousands(crate::stats::to_f64(events))
        ),
        format!(
            "{}/s ({:.2} s, creating took {:.2} s; {})",
            thousands(rate),
            elapsed.as_secs_f64(),
            creating.as_secs_f64(),
            share(rate, ceiling)
        ),
        if bound_by_api {
            "(bound by the API's create rate)".to_owned()
        } else {
            RATE_TARGET.to_owned()
        },
        if bound_by_api {
            Verdict::Info
        } else {
            Verdict::from(rate >= RATE_MIN)
        },
    ))
}

/// Open loop at `rate` creates/s for `seconds`, one subscription.
async fn latency(rate: u32, seconds: u32) -> Res<Vec<Row>> {
    eprintln!("   latency: {rate} events/s for {seconds} s");
    let (local, sink) = setup(1).await?;
    let probe = NoiseProbe::start();
    let sent = open_loop_creates(&local.api, rate, seconds).await?;
    sink.wait_for(sent.len(), PATIENCE).await?;
    let noise = probe.stop();
    local.stop().await?;
    let latencies = latencies(&sink, &sent)?;
    let p99 = latencies.p99();
    Ok(vec![
        Row::info(
            PART,
            format!(
                "commit-to-receipt p50 at {} events/s (open loop, {seconds} s)",
                thousands(f64::from(rate))
            ),
            ms(latencies.p50()),
        ),
        Row::new(
            PART,
            format!(
                "commit-to-receipt p99 at {} events/s (open loop, {seconds} s)",
                thousands(f64::from(rate))
            ),
            format!("**{}**", ms(p99)),
            "< 25 ms",
            noise.judge(Verdict::from(p99 < Duration::from_millis(25))),
        ),
        noise.row(PART, "the latency run"),
    ])
}
