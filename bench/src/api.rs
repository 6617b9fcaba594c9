//! The bundled server's API, as the benchmarks drive it: subscriptions,
//! creating products, emitting events, the clock and the delivery log.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Res;

/// A client of one server (`base` ends in `/v2`) with a session token.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub(crate) fn new(base: String, token: String) -> Res<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self { http, base, token })
    }

    /// `http://host:port` without the `/v2`.
    fn origin(&self) -> &str {
        self.base.strip_suffix("/v2").unwrap_or(&self.base)
    }

    async fn post(&self, url: String, body: &Value) -> Res<Value> {
        let response = self
            .http
            .post(url)
            .basic_auth("0", Some(&self.token))
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("{status}: {body}").into());
        }
        Ok(body)
    }

    /// Subscribes `target_url` to `event`; returns the subscription's id.
    pub(crate) async fn subscribe(&self, event: &str, target_url: &str) -> Res<i64> {
        let body = self
            .post(
                format!("{}/event/subscription", self.base),
                &json!({"event": event, "targetUrl": target_url}),
            )
            .await?;
        body["value"]["id"]
            .as_i64()
            .ok_or_else(|| format!("no subscription id in {body}").into())
    }

    /// Creates product number `n` through `POST /v2/product` (about 300
    /// bytes); returns its id and the instant just before the request was
    /// sent, an upper bound on its commit.
    pub(crate) async fn create_product(&self, n: u64) -> Res<(i64, Instant)> {
        let body = json!({
            "name": format!("bench product {n}"),
            "number": format!("B{n}"),
            "description": "x".repeat(200),
        });
        let sent = Instant::now();
        let body = self.post(format!("{}/product", self.base), &body).await?;
        let id = body["value"]["id"]
            .as_i64()
            .ok_or_else(|| format!("no product id in {body}"))?;
        Ok((id, sent))
    }

    /// Emits `event` about object `id` through the emulator API.
    pub(crate) async fn emit(&self, event: &str, id: i64, value: &Value) -> Res<()> {
        self.post(
            format!("{}/_emulator/events", self.origin()),
            &json!({"event": event, "id": id, "value": value}),
        )
        .await?;
        Ok(())
    }

    /// How many messages of the delivery log have exactly `attempts`
    /// recorded attempts (read a page at a time).
    pub(crate) async fn messages_with_attempts(&self, attempts: i64) -> Res<usize> {
        let mut found = 0;
        let mut from = 0;
        loop {
            let page: Value = self
                .http
                .get(format!("{}/_emulator/deliveries", self.origin()))
                .query(&[("from", from), ("count", 1000)])
                .basic_auth("0", Some(&self.token))
                .send()
                .await?
                .json()
                .await?;
            let messages = page["values"]
                .as_array()
                .ok_or_else(|| format!("no delivery log in {page}"))?;
            found += messages
                .iter()
                .filter(|m| m["attempts"].as_i64() == Some(attempts))
                .count();
            from += messages.len();
            let total = page["fullResultSize"].as_u64().unwrap_or_default();
            if messages.is_empty() || u64::try_from(from)? >= total {
                return Ok(found);
            }
        }
    }
}
