//! The delivery log: messages, their attempts, and what each attempt sent
//! and got back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a message of the delivery log stands. Values added later are kept in
/// [`DeliveryStatus::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in flight).
    Pending,
    /// A target answered 2xx.
    Delivered,
    /// No attempts left, or the subscription is not active.
    Failed,
    /// A newer version of the object was delivered instead.
    Superseded,
    /// A value this crate does not know, kept verbatim.
    Unknown(String),
}

crate::wire_enum::string_enum!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
    Superseded => "superseded",
});

impl DeliveryStatus {
    /// Whether the message reached a final status (nothing more is attempted
    /// unless it is redelivered).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Superseded)
    }
}

/// A message (one event for one subscription) with its attempts, as the
/// delivery log lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The message's id (its outbox row).
    pub id: i64,
    /// The subscription it is delivered to.
    pub subscription_id: i64,
    /// The event, `subject.verb`.
    pub event: String,
    /// The object's id.
    pub object_id: i64,
    /// The object's version, for events that have one.
    pub object_version: Option<i32>,
    /// The `idempotency-key` header, identical on every attempt.
    pub idempotency_key: String,
    /// The `x-tlx-request-id` of the API call that caused the event.
    pub request_id: Option<String>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (ms since the epoch, server clock), for
    /// pending messages.
    pub next_attempt_at_ms: Option<i64>,
    /// When it was created (ms, server clock).
    pub created_at_ms: i64,
    /// When it reached a final status (ms, server clock).
    pub finished_at_ms: Option<i64>,
    /// Why it failed when it did without an attempt (say, the subscription
    /// was disabled).
    pub last_error: Option<String>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempt_log: Vec<AttemptRecord>,
}

/// One attempt of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    /// When it started (ms, server clock).
    pub attempted_at_ms: i64,
    /// How long it took (ms).
    pub duration_ms: i64,
    /// The target's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, for failures.
    pub error: Option<String>,
    /// What was sent and what came back: only in the log of one message
    /// (`GET /_emulator/deliveries/{id}`), not in lists or the stream.
    #[serde(
        flatten,
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "exchange_if_present"
    )]
    pub exchange: Option<Exchange>,
}

/// An attempt's `request` and `response` keys, each absent, `null` or a value
/// (the three cases are the point here).
#[derive(Deserialize)]
#[allow(clippy::option_option)]
struct PresentKeys {
    #[serde(default, deserialize_with = "present")]
    request: Option<Option<RequestRecord>>,
    #[serde(default, deserialize_with = "present")]
    response: Option<Option<ResponseRecord>>,
}

fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The exchange of an attempt that has the keys (even as `null`), `None`
/// for one without them (as lists show attempts).
fn exchange_if_present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Exchange>, D::Error> {
    let keys = PresentKeys::deserialize(deserializer)?;
    Ok(match (keys.request, keys.response) {
        (None, None) => None,
        (request, response) => Some(Exchange {
            request: request.flatten(),
            response: response.flatten(),
        }),
    })
}

impl AttemptRecord {
    /// Whether the target answered 2xx.
    pub fn is_success(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// An attempt's request and response as the delivery log keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request, unless the attempt failed before one was made.
    #[serde(default)]
    pub request: Option<RequestRecord>,
    /// The response, if one came.
    #[serde(default)]
    pub response: Option<ResponseRecord>,
}

/// A request as the delivery log keeps it: no credentials, no secret values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The URL, without `user:password@`, with query values `<redacted>`.
    pub url: String,
    /// Its headers and body.
    #[serde(flatten)]
    pub message: MessageRecord,
}

/// A response as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// The HTTP status.
    pub status: u16,
    /// Its headers and body.
    #[serde(flatten)]
    pub message: MessageRecord,
}

/// The headers and body of a request or response, secret values
/// `<redacted>`, the body cut at a cap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    /// Header names (lower case) and values; repeated ones joined by `, `.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced), up to the cap.
    #[serde(default)]
    pub body: String,
    /// Whether the body was longer than the cap, and cut.
    #[serde(default)]
    pub body_truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_has_an_exchange_only_where_it_has_the_keys() {
        let listed = r#"{"attemptedAtMs":1,"durationMs":2,"statusCode":null,"error":"refused"}"#;
        let attempt: AttemptRecord = serde_json::from_str(listed).unwrap();
        assert_eq!(attempt.exchange, None);
        assert_eq!(serde_json::to_string(&attempt).unwrap(), listed);

        let one = r#"{"attemptedAtMs":1,"durationMs":2,"statusCode":null,"error":"refused","request":null,"response":null}"#;
        let attempt: AttemptRecord = serde_json::from_str(one).unwrap();
        assert_eq!(attempt.exchange, Some(Exchange::default()));
        assert_eq!(serde_json::to_string(&attempt).unwrap(), one);
    }

    #[test]
    fn statuses_keep_unknown_values() {
        let status: DeliveryStatus = serde_json::from_str(r#""parked""#).unwrap();
        assert_eq!(status, DeliveryStatus::Unknown("parked".to_owned()));
        assert!(!status.is_final() && DeliveryStatus::Superseded.is_final());
        assert_eq!(serde_json::to_string(&status).unwrap(), r#""parked""#);
    }
}
