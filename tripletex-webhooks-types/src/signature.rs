//! HMAC signing of webhook callbacks, as Tripletex does it.
//!
//! When a subscription has a `hmacSharedSecret`, every callback carries
//! `x-request-signature: base64(HMAC-SHA512(secret, idempotency-key + "&" + body))`,
//! where `idempotency-key` is the value of the header of that name and `body`
//! is the exact raw request body.
//!
//! ```
//! use secrecy::SecretString;
//! use tripletex_webhooks_types::signature;
//!
//! let secret = SecretString::from("a-shared-secret");
//! let body = br#"{"subscriptionId":1,"event":"product.create","id":7,"value":{"id":7}}"#;
//! let header = signature::sign(&secret, "key-1", body);
//! assert!(signature::verify(&secret, "key-1", body, &header).is_ok());
//! assert!(signature::verify(&secret, "key-2", body, &header).is_err());
//! ```

use base64::DecodeSliceError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha512;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-request-signature";

/// The header whose value is signed together with the body; unique per event
/// and subscription and identical on every retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

type HmacSha512 = Hmac<Sha512>;

/// Why a signature did not verify. Deliberately coarse: callers should not tell
/// a peer which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature header was empty or not valid base64.
    #[error("the signature is not valid base64")]
    Malformed,
    /// The signature does not match the key, body and secret.
    #[error("the signature does not match")]
    Mismatch,
}

/// An HMAC secret made ready to sign and verify many callbacks: the secret is
/// hashed into the HMAC state once, not once a request.
///
/// It holds key material, so its `Debug` shows nothing of it.
///
/// ```
/// use secrecy::SecretString;
/// use tripletex_webhooks_types::signature::SigningKey;
///
/// let key = SigningKey::new(&SecretString::from("a-shared-secret"));
/// let header = key.sign("key-1", b"{}");
/// assert!(key.verify("key-1", b"{}", &header).is_ok());
/// assert!(key.verify("key-1", b"{ }", &header).is_err());
/// ```
#[derive(Clone)]
pub struct SigningKey {
    keyed: HmacSha512,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Prepares `secret`.
    pub fn new(secret: &SecretString) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <HmacSha512 as Mac>::new_from_slice(secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { keyed }
    }

    fn mac(&self, idempotency_key: &str, body: &[u8]) -> HmacSha512 {
        let mut mac = self.keyed.clone();
        mac.update(idempotency_key.as_bytes());
        mac.update(b"&");
        mac.update(body);
        mac
    }

    /// The `x-request-signature` value for a callback.
    pub fn sign(&self, idempotency_key: &str, body: &[u8]) -> String {
        STANDARD.encode(self.mac(idempotency_key, body).finalize().into_bytes())
    }

    /// Checks an `x-request-signature` value in constant time.
    ///
    /// Surrounding whitespace in `signature` is ignored; anything else that is
    /// not the exact signature, including an empty or truncated one, is
    /// rejected.
    pub fn verify(
        &self,
        idempotency_key: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<(), SignatureError> {
        let signature = signature.trim();
        if signature.is_empty() {
            return Err(SignatureError::Malformed);
        }
        // Room for a 64-byte MAC and base64's rounding; a longer signature is
        // valid base64 that cannot match.
        let mut decoded = [0_u8; 72];
        let length = match STANDARD.decode_slice(signature, &mut decoded) {
            Ok(length) => length,
            Err(DecodeSliceError::OutputSliceTooSmall) => return Err(SignatureError::Mismatch),
            Err(DecodeSliceError::DecodeError(_)) => return Err(SignatureError::Malformed),
        };
        // `verify_slice` compares in constant time and rejects a wrong length.
        self.mac(idempotency_key, body)
            .verify_slice(&decoded[..length])
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// The `x-request-signature` value for a callback (see [`SigningKey`] to
/// sign many).
pub fn sign(secret: &SecretString, idempotency_key: &str, body: &[u8]) -> String {
    SigningKey::new(secret).sign(idempotency_key, body)
}

/// Checks an `x-request-signature` value in constant time (see
/// [`SigningKey::verify`]; a [`SigningKey`] verifies many faster).
pub fn verify(
    secret: &SecretString,
    idempotency_key: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    SigningKey::new(secret).verify(idempotency_key, body, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("0123456789abcdef")
    }

    #[test]
    fn known_answer() {
        // Computed independently: printf 'key-1&{}' | openssl dgst -sha512 -hmac 0123456789abcdef -binary | base64
        assert_eq!(
            sign(&secret(), "key-1", b"{}"),
            "d8+W1rBsBqttIdDUYvYO7k+mfPuk2H+ggqe3U1ZCkvdgmBbT83MLyA3lJefrFHWMsO18r1dOyqiOiky/FB8Efg=="
        );
    }

    #[test]
    fn verifies_own_signature_and_rejects_changes() {
        let body = br#"{"id":1}"#;
        let header = sign(&secret(), "k", body);
        assert_eq!(verify(&secret(), "k", body, &header), Ok(()));
        assert_eq!(
            verify(&secret(), "k", body, &format!(" {header}\n")),
            Ok(())
        );
        assert_eq!(
            verify(&secret(), "k", br#"{"id":2}"#, &header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), "other", body, &header),
            Err(SignatureError::Mismatch)
        );
        let wrong = SecretString::from("another-secret");
        assert_eq!(
            verify(&wrong, "k", body, &header),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_empty_truncated_and_garbage_signatures() {
        let body = b"{}";
        let header = sign(&secret(), "k", body);
        assert_eq!(
            verify(&secret(), "k", body, ""),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&secret(), "k", body, "   "),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&secret(), "k", body, "not base64!"),
            Err(SignatureError::Malformed)
        );
        // A valid base64 prefix of the real signature is a mismatch, not a match.
        let truncated = STANDARD.encode(&STANDARD.decode(&header).unwrap()[..32]);
        assert_eq!(
            verify(&secret(), "k", body, &truncated),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), "k", body, "AAAA"),
            Err(SignatureError::Mismatch)
        );
        assert!(verify(&secret(), "k", body, &header.to_lowercase()).is_err());
        // The real signature with bytes appended, and a far longer one: valid
        // base64, so mismatches.
        let mut longer = STANDARD.decode(&header).unwrap();
        longer.extend_from_slice(&[0, 1, 2]);
        for bytes in [longer, vec![7_u8; 1000]] {
            assert_eq!(
                verify(&secret(), "k", body, &STANDARD.encode(bytes)),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_signing_key_matches_the_functions_and_hides_its_secret() {
        let key = SigningKey::new(&secret());
        let body = br#"{"id":1}"#;
        assert_eq!(key.sign("k", body), sign(&secret(), "k", body));
        assert_eq!(key.verify("k", body, &sign(&secret(), "k", body)), Ok(()));
        // The key is reusable: its state is not consumed by a check.
        assert_eq!(
            key.verify("k", body, &sign(&secret(), "other", body)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(key.verify("other", body, &key.sign("other", body)), Ok(()));
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
    }
}
