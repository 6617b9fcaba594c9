//! Each attempt prints one info line, as `stripe listen` does:
//! `product.create #12 v0 -> http://127.0.0.1:3000/hook 200 in 3 ms`, and a
//! failure says why and when the next attempt is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::receiver::{Answer, Receiver};
use common::{Harness, test_config};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::eventually;

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn create_product(h: &Harness) -> i64 {
    let body: Value = h
        .request(Method::POST, "/product")
        .json(&json!({"name": "Espresso"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"]["id"].as_i64().unwrap()
}

/// The attempt line about version 0 of `object`, once it is written.
async fn line_about(captured: &Captured, object: i64) -> String {
    let prefix = format!("product.create #{object} v0 -> ");
    eventually(&format!("the attempt line of #{object}"), || async {
        captured
            .lines()
            .into_iter()
            .find_map(|line| line.find(&prefix).map(|at| line[at..].to_owned()))
    })
    .await
}

// One current-thread runtime: the server's tasks run on the thread whose
// default subscriber captures them.
#[tokio::test]
async fn each_attempt_prints_one_line_that_says_what_happened() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("tripletex_webhooks_server=info")
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let h = Harness::with_config(test_config()).await;
    let receiver = Receiver::start().await;
    let target = receiver.url("/hook?token=query-secret-1");
    let response = h
        .request(Method::POST, "/event/subscription")
        .json(&json!({"event": "product.create", "targetUrl": target}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let shown = target.replace("?token=query-secret-1", "?…");

    let delivered = create_product(&h).await;
    let line = line_about(&captured, delivered).await;
    let rest = line
        .strip_prefix(&format!(
            "product.create #{delivered} v0 -> {shown} 200 in "
        ))
        .unwrap_or_else(|| panic!("{line}"));
    let millis = rest.strip_suffix(" ms").unwrap_or_else(|| panic!("{line}"));
    assert!(millis.parse::<u64>().is_ok(), "{line}");

    receiver.answer(Answer::Status(500));
    let failed = create_product(&h).await;
    let line = line_about(&captured, failed).await;
    assert!(
        line.starts_with(&format!(
            "product.create #{failed} v0 -> {shown} failed in "
        )),
        "{line}"
    );
    let (_, reason) = line.split_once(" ms: ").unwrap_or_else(|| panic!("{line}"));
    let (why, next) = reason.split_once("; ").unwrap_or_else(|| panic!("{line}"));
    assert_eq!(why, "HTTP 500 Internal Server Error");
    let at = next
        .strip_prefix("next attempt at ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{line}"
    );

    let all = captured.lines().join("\n");
    assert!(!all.contains("query-secret-1"), "{all}");
}
