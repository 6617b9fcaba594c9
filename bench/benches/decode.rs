//! Criterion benches of part 6 (decode): a webhook envelope into a typed
//! event, and the `fields` filter on an order with 200 order lines expanded.
//!
//! ```text
//! cargo bench -p bench --bench decode
//! ```
//!
//! `cargo run --release -p bench -- decode` times the same functions for the
//! suite's table.

#![allow(missing_docs, reason = "criterion's macros generate the entry points")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tripletex_webhooks_bench::fixtures::{
    ORDER_FIELDS, order_envelope, order_value, product_envelope,
};
use tripletex_webhooks_types::TripletexEvent;
use tripletex_webhooks_types::fields::FieldsFilter;

fn decode(c: &mut Criterion) {
    let product = product_envelope(1, 42, 7);
    let order = order_envelope(200);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("product envelope to TripletexEvent", |b| {
        b.iter(|| TripletexEvent::from_slice(black_box(product.as_bytes())).is_ok());
    });
    group.bench_function("order envelope with 200 lines to TripletexEvent", |b| {
        b.iter(|| TripletexEvent::from_slice(black_box(&order)).is_ok());
    });
    group.finish();
}

fn fields(c: &mut Criterion) {
    let order = order_value(200);
    let mut group = c.benchmark_group("fields");
    group.throughput(Throughput::Elements(1));
    for (name, expression) in [
        ("order with 200 lines, selected fields", ORDER_FIELDS),
        ("order with 200 lines, *,orderLines(*)", "*,orderLines(*)"),
    ] {
        let Ok(filter) = expression.parse::<FieldsFilter>() else {
            panic!("{expression} parses");
        };
        group.bench_function(name, |b| b.iter(|| filter.apply(black_box(&order))));
    }
    group.finish();
}

criterion_group!(benches, decode, fields);
criterion_main!(benches);
