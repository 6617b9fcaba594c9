//! The events of `GET /_emulator/stream` (Server-Sent Events). The SSE
//! `event:` field names the kind; `data:` is the JSON of its payload.

use serde::{Deserialize, Serialize};

use super::DeliveryRecord;
use crate::{Subscription, SubscriptionStatus};

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// `event: attempt`: an attempt finished and was recorded.
    Attempt(Box<AttemptEvent>),
    /// `event: subscription`: a subscription's status changed.
    Subscription(Box<SubscriptionChange>),
    /// `event: lagged`: the consumer missed events (it read too slowly, or
    /// resumed from an id the server no longer holds); reload the delivery log.
    Lagged(Lagged),
    /// An event name this crate does not know, kept verbatim.
    Unknown {
        /// The SSE `event:` name.
        event: String,
        /// The SSE `data:`.
        data: String,
    },
}

impl StreamEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &str {
        match self {
            Self::Attempt(_) => "attempt",
            Self::Subscription(_) => "subscription",
            Self::Lagged(_) => "lagged",
            Self::Unknown { event, .. } => event,
        }
    }

    /// The event of an SSE `event:` name and its `data:`.
    pub fn from_sse(event: &str, data: &str) -> Result<Self, serde_json::Error> {
        Ok(match event {
            "attempt" => Self::Attempt(serde_json::from_str(data)?),
            "subscription" => Self::Subscription(serde_json::from_str(data)?),
            "lagged" => Self::Lagged(serde_json::from_str(data)?),
            other => Self::Unknown {
                event: other.to_owned(),
                data: data.to_owned(),
            },
        })
    }

    /// The SSE `data:` of this event (JSON on one line).
    pub fn data(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Attempt(attempt) => serde_json::to_string(attempt),
            Self::Subscription(change) => serde_json::to_string(change),
            Self::Lagged(lagged) => serde_json::to_string(lagged),
            Self::Unknown { data, .. } => Ok(data.clone()),
        }
    }

    /// The message this event is about, for attempts.
    pub fn delivery(&self) -> Option<&DeliveryRecord> {
        match self {
            Self::Attempt(attempt) => Some(&attempt.delivery),
            _ => None,
        }
    }
}

/// `event: attempt`: one finished attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEvent {
    /// The message as `GET /_emulator/deliveries` lists it, after this
    /// attempt (its status, attempts and next attempt time).
    pub delivery: DeliveryRecord,
    /// The attempt.
    pub attempt: StreamAttempt,
}

/// The attempt of an [`AttemptEvent`]: the delivery log's summary of it and
/// its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamAttempt {
    /// The attempt's number, 1 for the first.
    pub number: u32,
    /// When it started (ms, server clock).
    pub attempted_at_ms: i64,
    /// How long it took (ms).
    pub duration_ms: i64,
    /// The target's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, for failures.
    pub error: Option<String>,
}

/// `event: subscription`: a subscription's status changed (disabled by its
/// failure streak, or enabled or disabled through the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionChange {
    /// The subscription as `GET /v2/event/subscription/{id}` returns it, after
    /// the change.
    pub subscription: Subscription,
    /// Its status before the change.
    pub previous_status: SubscriptionStatus,
}

/// `event: lagged`: events the consumer missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lagged {
    /// How many events (of any company) were skipped, when the server knows.
    pub skipped: Option<u64>,
}
