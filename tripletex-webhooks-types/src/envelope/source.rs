//! Where a payload is decoded from: one dispatch table
//! ([`EventPayload::decode`](super::EventPayload)) reads a parsed [`Value`]
//! ([`WebhookEnvelope::decode`](super::WebhookEnvelope::decode)), raw JSON
//! text, or the body's own deserializer as it reaches `value` (the single
//! pass of [`TripletexEvent::from_slice`](super::TripletexEvent::from_slice)).

use std::marker::PhantomData;

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::DecodeError;
use crate::event_type::EventType;

/// A payload's source, read once.
pub(super) trait PayloadSource {
    /// What reading it can fail with.
    type Error;

    /// The object as `T`; `None` when the value is null or absent.
    fn object<T: DeserializeOwned>(self) -> Result<Option<T>, Self::Error>;

    /// The value as it is (`Null` when absent).
    fn value(self) -> Result<Value, Self::Error>;
}

/// Why a payload does not fit its event.
pub(super) enum Failure<E> {
    /// It does not fit the payload model.
    Invalid(E),
    /// A typed event without a value.
    Missing,
    /// A delete with a value.
    Unexpected,
}

impl Failure<serde_json::Error> {
    pub(super) fn into_decode_error(self, event: &EventType) -> DecodeError {
        let event = event.clone();
        match self {
            Self::Invalid(source) => DecodeError::Payload { event, source },
            Self::Missing => DecodeError::MissingValue { event },
            Self::Unexpected => DecodeError::UnexpectedValue { event },
        }
    }
}

impl PayloadSource for &Value {
    type Error = serde_json::Error;

    fn object<T: DeserializeOwned>(self) -> Result<Option<T>, serde_json::Error> {
        Option::<T>::deserialize(self)
    }

    fn value(self) -> Result<Value, serde_json::Error> {
        Ok(self.clone())
    }
}

/// `None` for `null` and for a missing `value`.
impl PayloadSource for Option<&RawValue> {
    type Error = serde_json::Error;

    fn object<T: DeserializeOwned>(self) -> Result<Option<T>, serde_json::Error> {
        self.map_or(Ok(None), |raw| serde_json::from_str(raw.get()))
    }

    fn value(self) -> Result<Value, serde_json::Error> {
        self.map_or(Ok(Value::Null), |raw| serde_json::from_str(raw.get()))
    }
}

/// A deserializer positioned at the value itself.
pub(super) struct Streamed<'de, D: Deserializer<'de>>(D, PhantomData<&'de ()>);

impl<'de, D: Deserializer<'de>> Streamed<'de, D> {
    pub(super) fn new(deserializer: D) -> Self {
        Self(deserializer, PhantomData)
    }
}

impl<'de, D: Deserializer<'de>> PayloadSource for Streamed<'de, D> {
    type Error = D::Error;

    fn object<T: DeserializeOwned>(self) -> Result<Option<T>, D::Error> {
        Option::<T>::deserialize(self.0)
    }

    fn value(self) -> Result<Value, D::Error> {
        Value::deserialize(self.0)
    }
}
