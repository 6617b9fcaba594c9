//! Authentication of a callback: custom header, Basic credentials, query token
//! and HMAC signature, each with several accepted secrets.
//!
//! Every comparison runs in constant time over all accepted secrets (no early
//! exit on the first match) with a length check. Header names are
//! case-insensitive (HTTP says so); values, tokens and signatures are not.
//! A credential header or parameter that appears more than once is refused:
//! which copy counts would be ambiguous.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use secrecy::{ExposeSecret, SecretString};
use subtle::{Choice, ConstantTimeEq};
use tripletex_webhooks_types::signature::{
    self, IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, SigningKey,
};

use super::header_text::HeaderText;

/// Why authentication failed. It goes to tracing and to callers of the
/// framework-free [`Receiver`](crate::Receiver), never into a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The custom auth header is missing.
    MissingHeader,
    /// The custom auth header appears more than once.
    DuplicateHeader,
    /// The custom auth header has none of the accepted values.
    WrongHeader,
    /// No `Authorization` header, or not the Basic scheme.
    MissingBasic,
    /// The `Authorization` header appears more than once.
    DuplicateBasic,
    /// The Basic credentials are not base64 of `user:password`.
    MalformedBasic,
    /// The Basic credentials are none of the accepted pairs.
    WrongBasic,
    /// The query token parameter is missing.
    MissingToken,
    /// The query token parameter appears more than once.
    DuplicateToken,
    /// The query token has none of the accepted values.
    WrongToken,
    /// No `x-request-signature` header.
    MissingSignature,
    /// The `x-request-signature` header appears more than once.
    DuplicateSignature,
    /// The signature is empty or not base64.
    MalformedSignature,
    /// The signature matches none of the accepted secrets.
    WrongSignature,
    /// The `idempotency-key` header, which the signature covers, is missing,
    /// empty, duplicated or not visible ASCII.
    BadIdempotencyKey,
    /// The [`CredentialResolver`](crate::CredentialResolver) knows no such
    /// subscription or company (checked against a dummy all the same).
    UnknownDelivery,
}

impl AuthFailure {
    /// A stable snake_case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::DuplicateHeader => "duplicate_header",
            Self::WrongHeader => "wrong_header",
            Self::MissingBasic => "missing_basic",
            Self::DuplicateBasic => "duplicate_basic",
            Self::MalformedBasic => "malformed_basic",
            Self::WrongBasic => "wrong_basic",
            Self::MissingToken => "missing_token",
            Self::DuplicateToken => "duplicate_token",
            Self::WrongToken => "wrong_token",
            Self::MissingSignature => "missing_signature",
            Self::DuplicateSignature => "duplicate_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::WrongSignature => "wrong_signature",
            Self::BadIdempotencyKey => "bad_idempotency_key",
            Self::UnknownDelivery => "unknown_delivery",
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A custom header and its accepted values.
#[derive(Debug, Clone)]
pub(crate) struct HeaderAuth {
    pub(crate) name: HeaderName,
    pub(crate) values: Vec<SecretString>,
}

/// A Basic username and its password.
#[derive(Debug, Clone)]
pub(crate) struct BasicCredential {
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

/// A query parameter and its accepted values.
#[derive(Debug, Clone)]
pub(crate) struct QueryAuth {
    pub(crate) param: String,
    pub(crate) values: Vec<SecretString>,
}

/// Every mechanism a request must pass (all configured ones, each with any of
/// its accepted secrets).
#[derive(Debug, Clone, Default)]
pub(crate) struct Authenticator {
    pub(crate) header: Option<HeaderAuth>,
    pub(crate) basic: Vec<BasicCredential>,
    pub(crate) query: Option<QueryAuth>,
    /// The HMAC secrets, each hashed into its key once.
    pub(crate) hmac: Vec<SigningKey>,
}

/// The HMAC inputs found in the headers, checked against the body later.
#[derive(Debug, Clone)]
pub(crate) struct SignatureInput {
    pub(crate) signature: HeaderText,
    pub(crate) idempotency_key: HeaderText,
}

impl Authenticator {
    /// Whether any mechanism is configured.
    pub(crate) fn is_configured(&self) -> bool {
        self.header.is_some()
            || !self.basic.is_empty()
            || self.query.is_some()
            || self.requires_hmac()
    }

    /// Whether failures carry `WWW-Authenticate: Basic`.
    pub(crate) fn challenges_basic(&self) -> bool {
        !self.basic.is_empty()
    }

    /// Whether a signature is required.
    pub(crate) fn requires_hmac(&self) -> bool {
        !self.hmac.is_empty()
    }

    /// Checks everything that does not need the body: the header, Basic and
    /// query mechanisms, and that the signature and key headers are present
    /// exactly once. Returns the signature input to verify once the body is read.
    pub(crate) fn check_head(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Option<SignatureInput>, AuthFailure> {
        if let Some(header) = &self.header {
            let value = single(headers, &header.name).map_err(|many| {
                if many {
                    AuthFailure::DuplicateHeader
                } else {
                    AuthFailure::MissingHeader
                }
            })?;
            if !matches_any(value.as_bytes(), &header.values) {
                return Err(AuthFailure::WrongHeader);
            }
        }
        if !self.basic.is_empty() {
            self.check_basic(headers)?;
        }
        if let Some(query) = &self.query {
            check_query(query, uri)?;
        }
        if !self.requires_hmac() {
            return Ok(None);
        }
        let signature =
            single(headers, &HeaderName::from_static(SIGNATURE_HEADER)).map_err(|many| {
                if many {
                    AuthFailure::DuplicateSignature
                } else {
                    AuthFailure::MissingSignature
                }
            })?;
        let signature = HeaderText::new(signature).ok_or(AuthFailure::MalformedSignature)?;
        let idempotency_key = single(headers, &HeaderName::from_static(IDEMPOTENCY_KEY_HEADER))
            .ok()
            .and_then(HeaderText::new)
            .filter(|key| !key.is_empty())
            .ok_or(AuthFailure::BadIdempotencyKey)?;
        Ok(Some(SignatureInput {
            signature,
            idempotency_key,
        }))
    }

    /// Verifies the signature over the exact body bytes against every accepted
    /// secret (all of them, so timing does not tell which one matched).
    pub(crate) fn check_signature(
        &self,
        input: &SignatureInput,
        body: &[u8],
    ) -> Result<(), AuthFailure> {
        let mut matched = false;
        let mut malformed = true;
        for key in &self.hmac {
            match key.verify(
                input.idempotency_key.as_str(),
                body,
                input.signature.as_str(),
            ) {
                Ok(()) => matched = true,
                Err(signature::SignatureError::Mismatch) => malformed = false,
                Err(signature::SignatureError::Malformed) => {}
            }
        }
        match (matched, malformed) {
            (true, _) => Ok(()),
            (false, true) => Err(AuthFailure::MalformedSignature),
            (false, false) => Err(AuthFailure::WrongSignature),
        }
    }

    fn check_basic(&self, headers: &HeaderMap) -> Result<(), AuthFailure> {
        let value = single(headers, &AUTHORIZATION).map_err(|many| {
            if many {
                AuthFailure::DuplicateBasic
            } else {
                AuthFailure::MissingBasic
            }
        })?;
        let (user, password) = parse_basic(value)?;
        let mut ok = Choice::from(0);
        for credential in &self.basic {
            ok |= ct_eq(&user, credential.user.as_bytes())
                & ct_eq(&password, credential.password.expose_secret().as_bytes());
        }
        if bool::from(ok) {
            Ok(())
        } else {
            Err(AuthFailure::WrongBasic)
        }
    }
}

/// The only value of a header: `Err(false)` when absent, `Err(true)` when repeated.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<&'a HeaderValue, bool> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(false),
        (Some(_), Some(_)) => Err(true),
    }
}

/// `Basic base64(user:password)`; the scheme is case-insensitive (RFC 7617).
fn parse_basic(value: &HeaderValue) -> Result<(Vec<u8>, Vec<u8>), AuthFailure> {
    let value = value.as_bytes();
    let split = value
        .iter()
        .position(|b| *b == b' ')
        .ok_or(AuthFailure::MissingBasic)?;
    let (scheme, rest) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(AuthFailure::MissingBasic);
    }
    let encoded = rest.trim_ascii();
    if encoded.is_empty() {
        return Err(AuthFailure::MalformedBasic);
    }
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| AuthFailure::MalformedBasic)?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(AuthFailure::MalformedBasic)?;
    let (user, password) = decoded.split_at(colon);
    let password = password.get(1..).unwrap_or_default();
    Ok((user.to_vec(), password.to_vec()))
}

fn check_query(query: &QueryAuth, uri: &Uri) -> Result<(), AuthFailure> {
    let pairs = uri.query().map(|q| form_urlencoded::parse(q.as_bytes()));
    let mut found = None;
    for (name, value) in pairs.into_iter().flatten() {
        if name == query.param.as_str() {
            if found.is_some() {
                return Err(AuthFailure::DuplicateToken);
            }
            found = Some(value);
        }
    }
    let value = found.ok_or(AuthFailure::MissingToken)?;
    if matches_any(value.as_bytes(), &query.values) {
        Ok(())
    } else {
        Err(AuthFailure::WrongToken)
    }
}

/// Whether `candidate` equals any accepted secret, comparing with all of them.
fn matches_any(candidate: &[u8], accepted: &[SecretString]) -> bool {
    let mut ok = Choice::from(0);
    for secret in accepted {
        ok |= ct_eq(candidate, secret.expose_secret().as_bytes());
    }
    ok.into()
}

/// Constant-time equality of equal-length inputs; different lengths are unequal.
fn ct_eq(a: &[u8], b: &[u8]) -> Choice {
    if a.len() == b.len() {
        a.ct_eq(b)
    } else {
        Choice::from(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values.iter().map(|v| SecretString::from(*v)).collect()
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn auth() -> Authenticator {
        Authenticator {
            basic: vec![
                BasicCredential {
                    user: "hook".into(),
                    password: "p@ss:word".into(),
                },
                BasicCredential {
                    user: "other".into(),
                    password: "second".into(),
                },
            ],
            ..Authenticator::default()
        }
    }

    fn check(auth: &Authenticator, value: HeaderValue) -> Result<(), AuthFailure> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        auth.check_head(&headers, &Uri::from_static("/"))
            .map(|_| ())
    }

    #[test]
    fn basic_credentials() {
        let auth = auth();
        assert_eq!(check(&auth, basic("hook", "p@ss:word")), Ok(()));
        assert_eq!(check(&auth, basic("other", "second")), Ok(()));
        // Mixing one pair's user with another's password does not pass.
        assert_eq!(
            check(&auth, basic("hook", "second")),
            Err(AuthFailure::WrongBasic)
        );
        assert_eq!(
            check(&auth, basic("HOOK", "p@ss:word")),
            Err(AuthFailure::WrongBasic)
        );
        let lower =
            HeaderValue::from_str(&format!("basic {}", STANDARD.encode("hook:p@ss:word"))).unwrap();
        assert_eq!(
            check(&auth, lower),
            Ok(()),
            "the scheme is case-insensitive"
        );
        assert_eq!(
            check(&auth, HeaderValue::from_static("Bearer abc")),
            Err(AuthFailure::MissingBasic)
        );
        assert_eq!(
            check(&auth, HeaderValue::from_static("Basic")),
            Err(AuthFailure::MissingBasic)
        );
        assert_eq!(
            check(&auth, HeaderValue::from_static("Basic    ")),
            Err(AuthFailure::MalformedBasic)
        );
        assert_eq!(
            check(&auth, HeaderValue::from_static("Basic !!!")),
            Err(AuthFailure::MalformedBasic)
        );
        let no_colon =
            HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("hook"))).unwrap();
        assert_eq!(check(&auth, no_colon), Err(AuthFailure::MalformedBasic));
    }

    #[test]
    fn query_tokens() {
        let auth = Authenticator {
            query: Some(QueryAuth {
                param: "token".into(),
                values: secrets(&["s3cret&x", "next"]),
            }),
            ..Authenticator::default()
        };
        let check = |uri: &'static str| {
            auth.check_head(&HeaderMap::new(), &Uri::from_static(uri))
                .map(|_| ())
        };
        assert_eq!(check("/h?token=s3cret%26x"), Ok(()));
        assert_eq!(check("/h?a=1&token=next"), Ok(()));
        assert_eq!(check("/h?token=NEXT"), Err(AuthFailure::WrongToken));
        assert_eq!(check("/h?token=nex"), Err(AuthFailure::WrongToken));
        assert_eq!(check("/h?token="), Err(AuthFailure::WrongToken));
        assert_eq!(check("/h"), Err(AuthFailure::MissingToken));
        assert_eq!(check("/h?Token=next"), Err(AuthFailure::MissingToken));
        assert_eq!(
            check("/h?token=next&token=next"),
            Err(AuthFailure::DuplicateToken)
        );
    }

    fn input(signature: &str) -> SignatureInput {
        let text = |value: &str| HeaderText::new(&HeaderValue::from_str(value).unwrap()).unwrap();
        SignatureInput {
            signature: text(signature),
            idempotency_key: text("k"),
        }
    }

    #[test]
    fn signatures_rotate() {
        let auth = Authenticator {
            hmac: secrets(&["old-secret", "new-secret"])
                .iter()
                .map(SigningKey::new)
                .collect(),
            ..Authenticator::default()
        };
        let body = b"{}";
        for secret in ["old-secret", "new-secret"] {
            let input = input(&signature::sign(&SecretString::from(secret), "k", body));
            assert_eq!(auth.check_signature(&input, body), Ok(()));
        }
        let wrong = input(&signature::sign(&SecretString::from("third"), "k", body));
        assert_eq!(
            auth.check_signature(&wrong, body),
            Err(AuthFailure::WrongSignature)
        );
        let garbage = input("%%%");
        assert_eq!(
            auth.check_signature(&garbage, body),
            Err(AuthFailure::MalformedSignature)
        );
    }
}
