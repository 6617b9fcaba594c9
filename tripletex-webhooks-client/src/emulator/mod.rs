//! A typed handle on the bundled server's emulator API (`/_emulator`), for
//! tests: emit any catalogue event, read the delivery log, wait for
//! deliveries on the live stream, redeliver, move the server clock, reset.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use serde_json::json;
//! use tripletex_webhooks_client::emulator::{DeliveryFilter, EmulatorClient};
//! use tripletex_webhooks_client::types::NewSubscription;
//! use tripletex_webhooks_client::types::emulator::DeliveryStatus;
//! use tripletex_webhooks_server::{RunningServer, ServerConfig};
//!
//! // The bundled server in-process, and a receiver that answers 200.
//! let server = RunningServer::start(ServerConfig::for_tests()).await?;
//! let receiver = wiremock::MockServer::start().await;
//! wiremock::Mock::given(wiremock::matchers::method("POST"))
//!     .respond_with(wiremock::ResponseTemplate::new(200))
//!     .mount(&receiver)
//!     .await;
//!
//! let token = server.create_session_token(0).await?;
//! let emulator = EmulatorClient::new(server.base_url(), token)?;
//! let subscription = emulator
//!     .client()
//!     .subscriptions()
//!     .create(&NewSubscription::new("notification.sent".parse()?, receiver.uri()))
//!     .await?;
//!
//! // An event without an object endpoint, delivered once.
//! emulator.emit("notification.sent", 7, json!({"id": 7, "title": "Hello"})).await?;
//! let filter = DeliveryFilter::new().subscription(subscription.id.unwrap_or_default());
//! let delivered = emulator
//!     .wait_for_deliveries(
//!         &filter,
//!         |log| log.iter().any(|d| d.status == DeliveryStatus::Delivered),
//!         Duration::from_secs(30),
//!     )
//!     .await?;
//! assert_eq!(delivered[0].object_id, 7);
//! assert_eq!(delivered[0].attempt_log[0].status_code, Some(200));
//! # server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Errors are this crate's [`Error`](crate::Error): an `ApiError` answer
//! (wrong token: [`is_auth`](crate::Error::is_auth); no such delivery:
//! [`is_not_found`](crate::Error::is_not_found)), and for a wait that runs out
//! of time [`is_wait_timeout`](crate::Error::is_wait_timeout), with what it saw
//! in [`seen_deliveries`](crate::Error::seen_deliveries).

mod filter;
mod sse;
mod stream;

use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use tokio::time::{Instant, timeout_at};
use tripletex_webhooks_types::ListResponse;
use tripletex_webhooks_types::emulator::{
    AdvanceRequest, DeliveryRecord, EmitRequest, Emitted, EmulatorClock, StreamEvent,
};

pub use filter::DeliveryFilter;
pub use stream::{EventStream, StreamItem};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::transport::RequestSpec;

/// The emulator API of a bundled server, in-process or in another process.
/// Cheap to clone.
///
/// Build one from the API base URL and a session token
/// ([`EmulatorClient::new`]), from the local consumer and employee tokens
/// ([`EmulatorClient::with_tokens`]), or from a [`Client`]
/// ([`EmulatorClient::from_client`]); the server crate's
/// `RunningServer::emulator` makes one for a server in-process.
#[derive(Debug, Clone)]
pub struct EmulatorClient {
    client: Client,
}

/// The API base of `base_url`: as given, or with `/v2` added to a bare root.
fn api_base(base_url: &str) -> String {
    let trimmed = base_url.trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(url) if url.path() == "/" || url.path().is_empty() => format!("{trimmed}/v2"),
        _ => trimmed.to_owned(),
    }
}

impl EmulatorClient {
    /// A handle on the server at `base_url` (its API base,
    /// `http://127.0.0.1:PORT/v2`, or its root), authenticated with a
    /// session token of the company to act as.
    pub fn new(base_url: impl AsRef<str>, session_token: impl Into<SecretString>) -> Result<Self> {
        let client = Client::builder()
            .base_url(api_base(base_url.as_ref()))
            .session_token(session_token)
            .build()?;
        Ok(Self::from_client(client))
    }

    /// A handle that creates (and renews) its session from a consumer and an
    /// employee token, such as the bundled server's defaults
    /// `local-consumer-token` and `local-employee-token`.
    pub fn with_tokens(
        base_url: impl AsRef<str>,
        consumer_token: impl Into<SecretString>,
        employee_token: impl Into<SecretString>,
    ) -> Result<Self> {
        let client = Client::builder()
            .base_url(api_base(base_url.as_ref()))
            .consumer_token(consumer_token)
            .employee_token(employee_token)
            .build()?;
        Ok(Self::from_client(client))
    }

    /// A handle that sends with `client`'s base URL and credentials.
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }

    /// The API client it sends with (for subscriptions, say).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Emits any event of the catalogue (`POST /_emulator/events`): one
    /// message per active subscription to it. `value` is the object, or
    /// `Value::Null` for delete events.
    pub async fn emit(
        &self,
        event: impl std::fmt::Display,
        id: i64,
        value: Value,
    ) -> Result<Emitted> {
        let body = EmitRequest {
            event: event.to_string(),
            id,
            value,
        };
        let spec = emulator(Method::POST, &["events"]).json(&body)?;
        self.client.value(&spec).await
    }

    /// One page of the delivery log (`GET /_emulator/deliveries`).
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<ListResponse<DeliveryRecord>> {
        let spec = filter.apply(emulator(Method::GET, &["deliveries"]));
        self.client.json(&spec).await
    }

    /// One message with every attempt's request and response
    /// (`GET /_emulator/deliveries/{id}`).
    pub async fn delivery(&self, id: i64) -> Result<DeliveryRecord> {
        let id = id.to_string();
        let spec = emulator(Method::GET, &["deliveries", &id]);
        self.client.value(&spec).await
    }

    /// Sends a message again, with the same idempotency key
    /// (`POST /_emulator/deliveries/{id}/redeliver`).
    pub async fn redeliver(&self, id: i64) -> Result<()> {
        let id = id.to_string();
        let spec = emulator(Method::POST, &["deliveries", &id, "redeliver"]);
        self.client.send(&spec).await.map(drop)
    }

    /// Moves the server clock forward (`POST /_emulator/clock/advance`):
    /// retries due by then are sent at once. Returns the clock after it.
    pub async fn advance(&self, by: Duration) -> Result<EmulatorClock> {
        let spec = emulator(Method::POST, &["clock", "advance"]).json(&AdvanceRequest {
            seconds: by.as_secs_f64(),
        })?;
        self.client.value(&spec).await
    }

    /// The server clock (`GET /_emulator/clock`).
    pub async fn now(&self) -> Result<EmulatorClock> {
        self.client.value(&emulator(Method::GET, &["clock"])).await
    }

    /// Deletes every object, subscription and message of the company
    /// (`POST /_emulator/reset`).
    pub async fn reset(&self) -> Result<()> {
        self.client
            .send(&emulator(Method::POST, &["reset"]))
            .await
            .map(drop)
    }

    /// The live stream of the company (`GET /_emulator/stream`), from now on.
    pub async fn stream(&self) -> Result<EventStream> {
        self.open_stream(None).await
    }

    /// The live stream resumed after event `id` (an earlier
    /// [`StreamItem::id`]): the events since are replayed while the server
    /// still holds them, otherwise the stream starts with a lag notice.
    pub async fn stream_after(&self, id: u64) -> Result<EventStream> {
        self.open_stream(Some(id)).await
    }

    async fn open_stream(&self, after: Option<u64>) -> Result<EventStream> {
        let mut spec = emulator(Method::GET, &["stream"]);
        if let Some(after) = after {
            spec = spec.header("last-event-id", after.to_string());
        }
        Ok(EventStream::new(self.client.open(&spec).await?))
    }

    /// Waits until the delivery log's messages of `filter` satisfy `done`,
    /// and returns them (newest first unless the filter says otherwise).
    ///
    /// Subscribes to the live stream first, then reads the log, then reads it
    /// again after each event that may change it, until `done` holds; no
    /// polling. A change that no attempt causes (a message enqueued) is seen
    /// with the next event. After `timeout`, fails with an error for which
    /// [`Error::is_wait_timeout`] holds, carrying the messages last read.
    pub async fn wait_for_deliveries(
        &self,
        filter: &DeliveryFilter,
        done: impl Fn(&[DeliveryRecord]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<DeliveryRecord>> {
        let deadline = Instant::now() + timeout;
        let timed_out = |seen| Error::wait_timed_out(timeout, seen);
        let mut stream = timeout_at(deadline, self.stream())
            .await
            .map_err(|_| timed_out(Vec::new()))??;
        loop {
            let seen = match timeout_at(deadline, self.deliveries(filter)).await {
                Ok(page) => page?.values,
                Err(_) => return Err(timed_out(Vec::new())),
            };
            if done(&seen) {
                return Ok(seen);
            }
            loop {
                let item = match timeout_at(deadline, stream.next()).await {
                    Err(_) => return Err(timed_out(seen)),
                    Ok(None) => return Err(Error::stream_ended(stream::STREAM_PATH)),
                    Ok(Some(item)) => item?,
                };
                if affects(filter, &item.event) {
                    break;
                }
            }
            // Events already here are read with the log that follows.
            while let Some(Some(Ok(_))) = stream.next().now_or_never() {}
        }
    }
}

/// Whether an event may change what `filter` lists.
fn affects(filter: &DeliveryFilter, event: &StreamEvent) -> bool {
    match event {
        StreamEvent::Attempt(attempt) => filter.concerns(&attempt.delivery),
        // A subscription's status closes its pending messages; a lag may hide anything.
        StreamEvent::Subscription(_) | StreamEvent::Lagged(_) | StreamEvent::Unknown { .. } => true,
    }
}

/// A request to `/_emulator/{segments}`.
fn emulator(method: Method, segments: &[&str]) -> RequestSpec {
    RequestSpec::new(
        method,
        std::iter::once("_emulator").chain(segments.iter().copied()),
    )
    .at_root()
}
