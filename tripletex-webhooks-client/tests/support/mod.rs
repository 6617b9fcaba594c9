//! Helpers shared by the wiremock tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_pass_by_value
)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tripletex_webhooks_client::{Client, ClientBuilder, RetryPolicy};
use wiremock::{MockServer, ResponseTemplate};

/// The session token the fixed-token clients send.
pub const SESSION_TOKEN: &str = "session-token-1234";

/// Retries that take milliseconds, without jitter.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
        .jitter(false)
}

/// A builder pointed at the mock server, with fast retries.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(format!("{}/v2", server.uri()))
        .retry_policy(fast_retry())
        .timeout(Duration::from_secs(5))
}

/// A client with a fixed session token.
pub fn client(server: &MockServer) -> Client {
    builder(server)
        .session_token(SESSION_TOKEN)
        .build()
        .unwrap()
}

/// `{"value": value}` with status 200 and a request id.
pub fn value(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-tlx-request-id", "req-ok")
        .set_body_json(json!({ "value": value }))
}

/// A list response of `values`.
pub fn list(values: Vec<Value>, from: i64, total: i64) -> ResponseTemplate {
    let count = values.len();
    ResponseTemplate::new(200).set_body_json(json!({
        "fullResultSize": total, "from": from, "count": count, "versionDigest": null, "values": values
    }))
}

/// An `ApiError` answer as Tripletex sends it.
pub fn api_error(status: u16, code: i32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-tlx-request-id", "req-err")
        .set_body_json(json!({
            "status": status, "code": code, "message": message,
            "link": "https://tripletex.no/v2-docs/", "developerMessage": null,
            "validationMessages": null, "requestId": "req-err"
        }))
}

/// A subscription as the API returns it.
pub fn subscription(id: i64, event: &str) -> Value {
    json!({
        "id": id, "version": 0, "url": format!("tripletex.no/v2/event/subscription/{id}"),
        "event": event, "targetUrl": "https://example.com/hooks", "status": "ACTIVE"
    })
}

/// Log output captured in memory.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
