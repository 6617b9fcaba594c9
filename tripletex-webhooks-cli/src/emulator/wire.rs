//! The emulator API's bodies, as the bundled server sends them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The answer of `POST /_emulator/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Emitted {
    /// The event emitted.
    pub(crate) event: String,
    /// The object's id.
    pub(crate) id: i64,
    /// How many deliveries were queued (one per active subscription of the event).
    pub(crate) deliveries: u64,
}

/// The server clock, from `GET /_emulator/clock` and `POST /_emulator/clock/advance`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClockState {
    /// The server's time, RFC 3339.
    pub(crate) now: String,
    /// The same, in ms since the epoch.
    pub(crate) now_ms: i64,
    /// How far it is ahead of the real time, in ms.
    pub(crate) offset_ms: i64,
}

/// One message of the delivery log (`GET /_emulator/deliveries`); keys this
/// tool does not show are kept for `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    /// The message id (what `redeliver` takes).
    pub(crate) id: i64,
    /// The subscription it is for.
    pub(crate) subscription_id: i64,
    /// The event.
    pub(crate) event: String,
    /// The object's id.
    pub(crate) object_id: i64,
    /// `pending`, `delivered`, `failed` or `superseded`.
    pub(crate) status: String,
    /// Attempts made.
    pub(crate) attempts: i64,
    /// When it was created, ms on the server clock.
    pub(crate) created_at_ms: i64,
    /// Why it failed without an attempt, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_error: Option<String>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub(crate) attempt_log: Vec<Attempt>,
    /// The other keys.
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attempt {
    /// The HTTP status the target answered, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_code: Option<u16>,
    /// Why it failed, if it did without an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The other keys.
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

/// The delivery log's filter.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryFilter {
    /// Only this subscription's.
    pub(crate) subscription_id: Option<i64>,
    /// Only this status.
    pub(crate) status: Option<&'static str>,
    /// Only this event's.
    pub(crate) event: Option<String>,
    /// Only those created at or after this time, ms on the server clock.
    pub(crate) created_from_ms: Option<i64>,
}

impl DeliveryFilter {
    /// The query parameters.
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(id) = self.subscription_id {
            query.push(("subscriptionId", id.to_string()));
        }
        if let Some(status) = self.status {
            query.push(("status", status.to_owned()));
        }
        if let Some(event) = &self.event {
            query.push(("event", event.clone()));
        }
        if let Some(from) = self.created_from_ms {
            query.push(("createdFrom", from.to_string()));
        }
        query
    }
}
