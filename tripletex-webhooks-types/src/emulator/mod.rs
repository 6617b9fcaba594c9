//! The emulator API of the bundled server (`/_emulator`), on the wire: the
//! delivery log, the live stream, the clock and emitted events. The server
//! renders these types and the client parses them, so the two cannot drift.
//!
//! - [`DeliveryRecord`], [`AttemptRecord`], [`Exchange`], [`RequestRecord`],
//!   [`ResponseRecord`], [`MessageRecord`], [`DeliveryStatus`]: the delivery
//!   log (`GET /_emulator/deliveries`, `GET /_emulator/deliveries/{id}`).
//! - [`StreamEvent`] and its payloads [`AttemptEvent`], [`StreamAttempt`],
//!   [`SubscriptionChange`], [`Lagged`]: the Server-Sent Events of
//!   `GET /_emulator/stream`.
//! - [`EmulatorClock`], [`AdvanceRequest`], [`EmitRequest`], [`Emitted`]:
//!   the clock and `POST /_emulator/events`.
//!
//! ```
//! use tripletex_webhooks_types::emulator::{DeliveryRecord, DeliveryStatus, StreamEvent};
//!
//! // One item of `GET /_emulator/deliveries`.
//! let body = r#"{"id":3,"subscriptionId":1,"event":"product.create","objectId":7,
//!   "objectVersion":0,"idempotencyKey":"k","requestId":null,"status":"delivered",
//!   "attempts":1,"nextAttemptAtMs":null,"createdAtMs":1,"finishedAtMs":2,"lastError":null,
//!   "attemptLog":[{"attemptedAtMs":1,"durationMs":1,"statusCode":200,"error":null}]}"#;
//! let record: DeliveryRecord = serde_json::from_str(body)?;
//! assert_eq!(record.status, DeliveryStatus::Delivered);
//! assert_eq!(record.attempt_log[0].status_code, Some(200));
//!
//! // One event of `GET /_emulator/stream`: its SSE `event:` name and `data:`.
//! let data = format!(r#"{{"delivery":{body},"attempt":{{"number":1,"attemptedAtMs":1,
//!   "durationMs":1,"statusCode":200,"error":null}}}}"#);
//! let StreamEvent::Attempt(attempt) = StreamEvent::from_sse("attempt", &data)? else {
//!     panic!("an attempt");
//! };
//! assert_eq!(attempt.attempt.number, 1);
//! assert_eq!(attempt.delivery.id, 3);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod clock;
mod delivery;
mod stream;

pub use clock::{AdvanceRequest, EmitRequest, Emitted, EmulatorClock};
pub use delivery::{
    AttemptRecord, DeliveryRecord, DeliveryStatus, Exchange, MessageRecord, RequestRecord,
    ResponseRecord,
};
pub use stream::{AttemptEvent, Lagged, StreamAttempt, StreamEvent, SubscriptionChange};
