//! The wire vocabulary of Tripletex webhooks: everything that crosses the wire
//! between Tripletex (or the bundled server), an integration's client and its
//! webhook receiver, with no I/O.
//!
//! - [`EventType`]: event names, `subject.verb`, typed where known and kept
//!   verbatim where not.
//! - [`WebhookEnvelope`] and [`TripletexEvent`]: the callback body and its typed
//!   decoding into the [`models`].
//! - [`Subscription`], [`NewSubscription`], [`SubscriptionUpdate`]: the
//!   `/event/subscription` resource, with write-only secrets.
//! - [`EventCatalog`], [`EventInfo`]: `GET /event` and `GET /event/{eventType}`.
//! - [`ValueResponse`], [`ListResponse`], [`ApiError`]: API2's envelopes and errors.
//! - [`SessionToken`], [`LoggedInUserInfo`]: session tokens and `>whoAmI`.
//! - [`fields`]: the API2 `fields` filter, parsed and applied.
//! - [`signature`]: HMAC-SHA512 signing of callbacks, as Tripletex does it.
//! - [`emulator`]: the bundled server's emulator API: the delivery log, the
//!   live stream of attempts, the clock.
//!
//! Unknown is never an error: new event names, enum values and fields are kept,
//! so an upgrade on Tripletex's side cannot break decoding.
//!
//! # Example
//!
//! ```
//! use secrecy::SecretString;
//! use tripletex_webhooks_types::{signature, EventPayload, ObjectChange, TripletexEvent};
//!
//! // What a receiver gets: the raw body and two headers.
//! let body = br#"{"subscriptionId":12,"event":"product.create","id":7,
//!                 "value":{"id":7,"version":0,"name":"Espresso","vatType":{"id":3,"url":"tripletex.no/v2/ledger/vatType/3"}}}"#;
//! let secret = SecretString::from("my-shared-secret");
//! let header = signature::sign(&secret, "delivery-1", body);
//!
//! // Verify on the exact bytes, then decode.
//! signature::verify(&secret, "delivery-1", body, &header).expect("authentic");
//! let event = TripletexEvent::from_slice(body)?;
//! if let EventPayload::Product(ObjectChange::Created(product)) = &event.payload {
//!     assert_eq!(product.name.as_deref(), Some("Espresso"));
//!     assert_eq!(product.vat_type.as_ref().and_then(|r| r.id), Some(3));
//! }
//! # Ok::<(), tripletex_webhooks_types::DecodeError>(())
//! ```

mod secret_serde;
mod wire_enum;

pub mod catalog;
pub mod change;
pub mod emulator;
pub mod envelope;
pub mod error;
pub mod event_type;
pub mod fields;
pub mod models;
pub mod response;
pub mod session;
pub mod signature;
pub mod subscription;

pub use catalog::{EventCatalog, EventDescription, EventInfo};
pub use change::{Change, ChangeType};
pub use envelope::{
    DecodeError, EventPayload, ObjectChange, ObjectKey, TripletexEvent, WebhookEnvelope,
};
pub use error::{ApiError, ApiValidationMessage, ErrorCode};
pub use event_type::{
    EventType, ParseEventTypeError, Subject, UnknownName, Verb, known_event_types,
};
pub use response::{ListResponse, ValueResponse};
pub use session::{LoggedInUserInfo, SessionToken};
pub use subscription::{NewSubscription, Subscription, SubscriptionStatus, SubscriptionUpdate};

/// `secrecy`, re-exported so users name the same `SecretString` this crate uses.
pub use secrecy;
