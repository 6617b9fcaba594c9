//! Part 6, decode: a webhook envelope into a typed event, and the `fields`
//! filter on a large order with 200 order lines expanded, per second on one
//! core.
//!
//! A timed loop: a warm-up, then several samples; the median sample's rate
//! is reported. `cargo bench -p bench --bench decode` measures the same
//! functions with criterion.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tripletex_webhooks_bench::fixtures::{
    ORDER_FIELDS, order_envelope, order_value, product_envelope,
};
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::secrecy::SecretString;
use tripletex_webhooks_types::{TripletexEvent, signature};

use crate::Res;
use crate::report::Row;
use crate::stats::{count, per_second, thousands, to_f64};

const PART: &str = "decode";

pub(crate) fn run(quick: bool) -> Res<Vec<Row>> {
    let (samples, sample) = if quick {
        (3, Duration::from_millis(150))
    } else {
        (7, Duration::from_millis(500))
    };
    let product = product_envelope(1, 42, 7);
    let order = order_envelope(200);
    let order_value = order_value(200);
    let filter: FieldsFilter = ORDER_FIELDS.parse()?;
    let all_lines: FieldsFilter = "*,orderLines(*)".parse()?;
    // Fail loudly rather than time an error path.
    TripletexEvent::from_slice(product.as_bytes())?;
    TripletexEvent::from_slice(&order)?;

    let product_rate = rate(samples, sample, || {
        black_box(TripletexEvent::from_slice(black_box(product.as_bytes())).is_ok());
    });
    let order_rate = rate(samples, sample, || {
        black_box(TripletexEvent::from_slice(black_box(&order)).is_ok());
    });
    let filter_rate = rate(samples, sample, || {
        black_box(filter.apply(black_box(&order_value)));
    });
    let secret = SecretString::from("bench-hmac-shared-secret");
    let header = signature::sign(&secret, "delivery-1", product.as_bytes());
    signature::verify(&secret, "delivery-1", product.as_bytes(), &header)?;
    let verify_rate = rate(samples, sample, || {
        black_box(
            signature::verify(
                &secret,
                "delivery-1",
                black_box(product.as_bytes()),
                &header,
            )
            .is_ok(),
        );
    });
    let value_rate = rate(samples, sample, || {
        black_box(
            serde_json::from_slice::<serde_json::Value>(black_box(product.as_bytes())).is_ok(),
        );
    });
    let all_rate = rate(samples, sample, || {
        black_box(all_lines.apply(black_box(&order_value)));
    });
    let mb_per_s = |rate: f64, bytes: usize| rate * to_f64(count(bytes)) / 1e6;
    let micros = |rate: f64| 1e6 / rate.max(1e-9);
    Ok(vec![
        Row::info(
            PART,
            format!(
                "product envelope ({} bytes) → typed TripletexEvent, one core",
                product.len()
            ),
            format!(
                "**{}/s** ({:.1} µs, {:.0} MB/s)",
                thousands(product_rate),
                micros(product_rate),
                mb_per_s(product_rate, product.len())
            ),
        ),
        Row::info(
            PART,
            "for comparison, the bare receiver route's work: that envelope → serde_json::Value",
            format!("{}/s ({:.1} µs)", thousands(value_rate), micros(value_rate)),
        ),
        Row::info(
            PART,
            "HMAC-SHA512 check of that envelope's x-request-signature (signature::verify)",
            format!(
                "{}/s ({:.1} µs)",
                thousands(verify_rate),
                micros(verify_rate)
            ),
        ),
        Row::info(
            PART,
            format!(
                "order envelope with 200 order lines expanded ({} KB) → typed TripletexEvent",
                order.len() / 1024
            ),
            format!(
                "{}/s ({:.0} MB/s)",
                thousands(order_rate),
                mb_per_s(order_rate, order.len())
            ),
        ),
        Row::info(
            PART,
            format!("`fields` filter on that order: `{ORDER_FIELDS}`"),
            format!("**{}/s**", thousands(filter_rate)),
        ),
        Row::info(
            PART,
            "`fields` filter on that order: `*,orderLines(*)`",
            format!("{}/s", thousands(all_rate)),
        ),
    ])
}

/// Runs `f` for a warm-up, then `samples` samples of about `sample` each;
/// the median sample's calls per second.
fn rate(samples: usize, sample: Duration, mut f: impl FnMut()) -> f64 {
    // Calibrate: how many calls take about a millisecond.
    let mut batch: u64 = 1;
    loop {
        let started = Instant::now();
        for _ in 0..batch {
            f();
        }
        if started.elapsed() >= Duration::from_millis(1) || batch >= 1 << 20 {
            break;
        }
        batch *= 2;
    }
    let run_for = |length: Duration, f: &mut dyn FnMut()| {
        let started = Instant::now();
        let mut calls = 0;
        while started.elapsed() < length {
            for _ in 0..batch {
                f();
            }
            calls += batch;
        }
        per_second(calls, started.elapsed())
    };
    run_for(sample, &mut f);
    let mut rates: Vec<f64> = (0..samples).map(|_| run_for(sample, &mut f)).collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}
