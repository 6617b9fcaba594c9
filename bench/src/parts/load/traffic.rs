//! The load generator: product creates through `POST /v2/product` with Basic
//! auth, as an integration sends them, closed loop (a number of senders, each
//! sending its next create when the last is answered) or open loop (a fixed
//! rate, whatever the answers do). Each create records when it was sent and
//! when its `201` arrived, on the wall clock shared with the receiver.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;

use tripletex_webhooks_bench::fixtures::product_envelope;

use super::clock::now_micros;
use crate::Res;

/// One answered create.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Create {
    /// The product's id, as the receiver sees it in the callback.
    pub(crate) id: i64,
    /// When the request was sent (µs, wall clock).
    pub(crate) sent_us: i64,
    /// When its `201` arrived: the commit acknowledged (µs, wall clock).
    pub(crate) acked_us: i64,
}

/// Filler that brings [`product_body`] to about 1.45 KB, as a product with
/// a real description does.
const DESCRIPTION: &str = "Single-origin arabica from the highlands, roasted in small batches \
    for espresso: notes of dark chocolate, toasted hazelnut and a hint of dried cherry. \
    Grind fine just before brewing; 18 g in, 36 g out in 25 to 30 seconds. Store airtight, \
    away from light and heat, and use within four weeks of the roast date printed on the bag. \
    Sold by the kilogram in resealable valve bags; pallets of 240 bags on request. \
    Roasted to order every Monday and Wednesday, shipped the day after roasting. \
    Keep the valve side up; the beans degas for about a week after roasting. \
    Each bag carries the lot number, the farm and the altitude it grew at, so a reorder \
    can ask for the same lot while it lasts. Certified organic and fairly traded; \
    the cooperative is paid above the market price and visited every harvest. \
    Wholesale buyers get a sample bag of every new lot before it is listed, \
    and cafés on a standing order are told a week ahead when a lot runs out.";

/// The body of create number `n`: about 1.45 KB of JSON.
pub(crate) fn product_body(n: u64) -> Vec<u8> {
    let body = json!({
        "name": format!("Espresso beans, dark roast, 1 kg bag {n}"),
        "number": format!("L-{n}"),
        "description": DESCRIPTION,
        "orderLineDescription": format!("Espresso beans 1 kg (item {n})"),
        "ean": format!("7038010{:06}", n % 1_000_000),
        "costExcludingVatCurrency": 112.5,
        "priceExcludingVatCurrency": 249.0,
        "priceIncludingVatCurrency": 311.25,
        "isInactive": false,
        "isStockItem": true,
        "stockOfGoods": f64::from(u32::try_from(n % 500).unwrap_or(0)),
        "weight": 1.05,
        "weightUnit": "kg",
        "productUnit": {"id": 1},
        "vatType": {"id": 3},
        "currency": {"id": 1},
        "department": {"id": 12},
        "account": {"id": 3000},
        "supplier": {"id": 4021},
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A client of one server with a session token.
#[derive(Clone)]
pub(crate) struct Creator {
    http: reqwest::Client,
    url: Arc<str>,
    token: Arc<str>,
}

impl Creator {
    pub(crate) fn new(base: &str, token: String) -> Res<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            url: format!("{base}/product").into(),
            token: token.into(),
        })
    }

    /// Creates product number `n`.
    pub(crate) async fn create(&self, n: u64) -> Res<Create> {
        let body = product_body(n);
        let sent_us = now_micros();
        let response = self
            .http
            .post(&*self.url)
            .basic_auth("0", Some(&*self.token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let acked_us = now_micros();
        if status != reqwest::StatusCode::CREATED {
            return Err(
                format!("create {n}: {status}: {}", String::from_utf8_lossy(&bytes)).into(),
            );
        }
        let answer: Value = serde_json::from_slice(&bytes)?;
        let id = answer["value"]["id"]
            .as_i64()
            .ok_or_else(|| format!("no product id in {answer}"))?;
        Ok(Create {
            id,
            sent_us,
            acked_us,
        })
    }
}

/// Closed loop: `senders` tasks share `total` creates, each sending its next
/// one as soon as the last is answered.
pub(crate) async fn closed_loop(creator: &Creator, senders: usize, total: u64) -> Res<Vec<Create>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..senders {
        let (creator, next) = (creator.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, crate::BoxError>(done);
                }
                done.push(creator.create(n).await?);
            }
        });
    }
    let mut creates = Vec::new();
    while let Some(done) = tasks.join_next().await {
        creates.extend(done??);
    }
    Ok(creates)
}

/// Open loop: `rate` creates a second for `seconds`, on schedule whatever the
/// answers do (a late tick is made up at once).
pub(crate) async fn open_loop(creator: &Creator, rate: u32, seconds: u32) -> Res<Vec<Create>> {
    let total = u64::from(rate) * u64::from(seconds);
    let mut interval = tokio::time::interval(Duration::from_secs(1) / rate);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    for n in 0..total {
        interval.tick().await;
        let creator = creator.clone();
        tasks.spawn(async move { creator.create(n).await });
    }
    let mut creates = Vec::new();
    while let Some(done) = tasks.join_next().await {
        creates.push(done??);
    }
    Ok(creates)
}

/// The machine's ceiling: plain POSTs of a callback-sized envelope to the
/// receiver, 64 in flight; requests a second.
pub(crate) async fn ceiling(origin: &str, requests: u64) -> Res<f64> {
    let url = format!("{origin}/ceiling");
    super::super::post_ceiling(&url, requests, |n| {
        Ok(product_envelope(1, i64::try_from(n)?, 0).into_bytes())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_weighs_about_one_and_a_half_kilobytes() {
        let body = product_body(12_345);
        assert!((1400..1500).contains(&body.len()), "{} bytes", body.len());
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["number"], "L-12345");
    }
}
