//! The emulator clock and emitted events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The server clock (`GET /_emulator/clock`, and the answer of
/// `POST /_emulator/clock/advance`): real time plus an offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorClock {
    /// Now on the server clock, RFC 3339.
    pub now: String,
    /// Now on the server clock, ms since the epoch.
    pub now_ms: i64,
    /// How far the clock is ahead of real time (ms).
    pub offset_ms: i64,
}

/// The body of `POST /_emulator/clock/advance`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvanceRequest {
    /// Seconds to move the clock forward (0 to 100 years).
    pub seconds: f64,
}

/// The body of `POST /_emulator/events`: any event of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmitRequest {
    /// The event, `subject.verb`.
    pub event: String,
    /// The object's id.
    pub id: i64,
    /// The object (`null` for delete events).
    #[serde(default)]
    pub value: Value,
}

/// The answer of `POST /_emulator/events` (its `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emitted {
    /// The event.
    pub event: String,
    /// The object's id.
    pub id: i64,
    /// How many messages were enqueued (one per active subscription to it).
    pub deliveries: u64,
}
