//! (De)serialising a [`FieldsFilter`] as its string form, as it appears in
//! the `fields` property of a webhook subscription.

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use super::FieldsFilter;

/// Serialises the canonical string form (see [`Display`](std::fmt::Display)).
impl Serialize for FieldsFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Deserialises from a string and parses it; a syntax error is a
/// deserialisation error. Use `Option<FieldsFilter>` to accept `null`.
impl<'de> Deserialize<'de> for FieldsFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}
