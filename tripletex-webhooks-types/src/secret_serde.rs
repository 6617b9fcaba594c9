//! Serde helpers for write-only secrets.
//!
//! Secrets are sent to Tripletex (so they serialize, exposing their value on the
//! wire only) but they never appear in `Debug` output, which `SecretString`
//! guarantees. Deserializing needs no helper: `SecretString` implements
//! `Deserialize` itself.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

/// `serialize_with` for `Option<SecretString>`: writes the exposed string.
// serde's `serialize_with` hands us `&Option<T>`; the signature is not ours to choose.
#[allow(clippy::ref_option)]
pub(crate) fn serialize<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}
