//! Credentials per subscription or company: a [`CredentialResolver`] the app
//! implements looks them up (in its database) for each delivery, behind a
//! bounded TTL cache.
//!
//! # What identifies a delivery, and why that is safe
//!
//! Credentials are needed before the delivery is verified, so the receiver
//! can only go by what the delivery *claims*: the request path (e.g. a
//! segment naming the company, `/webhooks/tripletex/{company}`) and the
//! `subscriptionId` of the body, parsed but not yet verified
//! ([`DeliveryIdentity`]). That is safe because the claimed identity only
//! selects *which* credentials must then match: a forged path or
//! subscription id makes the receiver check that other subscription's
//! secrets, which the forger does not have. With HMAC, the signature covers
//! the body, so the `subscriptionId` the handler later reads is the one that
//! was verified. The query string is not part of the identity: it may carry
//! a token, which must not become a cache key.
//!
//! # Unknown subscriptions
//!
//! When the resolver answers `None`, the delivery gets 401 like any failed
//! check, after the same verification against a dummy: credentials of the
//! same shape (mechanisms, header name, number of secrets) as the last ones
//! the resolver returned, with random secrets. The work done, and where it
//! stops, is the same as for a known subscription with a wrong secret, so
//! timing does not tell which subscriptions exist. `None` is cached like an
//! answer, so a repeated unknown id costs no more lookups than a known one.
//!
//! A resolver error answers 503 (Tripletex retries) and is not cached.

mod cache;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use http::HeaderName;
use http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use tripletex_webhooks_types::signature::SigningKey;

pub(crate) use self::cache::CredentialCache;
use crate::config::ConfigError;
use crate::core::auth::{Authenticator, BasicCredential, HeaderAuth, QueryAuth};
use crate::error::BoxError;

/// How long a resolved answer (credentials or `None`) is cached by default: a minute.
pub const DEFAULT_CREDENTIAL_TTL: Duration = Duration::from_secs(60);
/// How many answers the cache keeps by default.
pub const DEFAULT_CREDENTIAL_CAPACITY: usize = 10_000;

/// What a delivery claims to be, before it is verified: what a
/// [`CredentialResolver`] looks credentials up by (see the
/// [module documentation](self) for why a claimed identity is safe).
///
/// ```
/// use tripletex_webhooks_receiver::DeliveryIdentity;
///
/// let identity = DeliveryIdentity::new("/webhooks/tripletex/acme", Some(42));
/// assert_eq!(identity.path_segment(2), Some("acme"));
/// assert_eq!(identity.subscription_id(), Some(42));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryIdentity {
    path: String,
    subscription_id: Option<i64>,
}

impl DeliveryIdentity {
    /// An identity (for tests of a resolver).
    pub fn new(path: impl Into<String>, subscription_id: Option<i64>) -> Self {
        Self {
            path: path.into(),
            subscription_id,
        }
    }

    /// The request path, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `index`th non-empty segment of the path (from 0).
    pub fn path_segment(&self, index: usize) -> Option<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).nth(index)
    }

    /// The body's `subscriptionId`, unverified; `None` if the body has none
    /// (or is not JSON).
    pub fn subscription_id(&self) -> Option<i64> {
        self.subscription_id
    }
}

/// The credentials one subscription was created with, as a
/// [`CredentialResolver`] returns them. Every mechanism set is required;
/// each accepts any of its values (rotation), exactly as in the static
/// [`WebhookConfig`](crate::WebhookConfig).
///
/// ```
/// use tripletex_webhooks_receiver::Credentials;
///
/// let credentials = Credentials::builder()
///     .header_auth("X-Tripletex-Token", "token-of-subscription-42")
///     .hmac_secret("old-secret") // during rotation, both
///     .hmac_secret("new-secret")
///     .build()?;
/// assert!(!format!("{credentials:?}").contains("secret"));
/// # Ok::<(), tripletex_webhooks_receiver::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Credentials {
    pub(crate) auth: Arc<Authenticator>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = &self.auth;
        f.debug_struct("Credentials")
            .field("header", &auth.header.as_ref().map(|h| h.name.as_str()))
            .field("basic", &auth.basic.len())
            .field("query", &auth.query.as_ref().map(|q| q.param.as_str()))
            .field("hmac", &auth.hmac.len())
            .finish()
    }
}

impl Credentials {
    /// Starts a set of credentials.
    pub fn builder() -> CredentialsBuilder {
        CredentialsBuilder::default()
    }

    /// The same mechanisms and numbers of secrets, with random secrets.
    fn shadow(&self) -> Self {
        let random = || SecretString::from(uuid::Uuid::new_v4().simple().to_string());
        let auth = &self.auth;
        Self {
            auth: Arc::new(Authenticator {
                header: auth.header.as_ref().map(|h| HeaderAuth {
                    name: h.name.clone(),
                    values: h.values.iter().map(|_| random()).collect(),
                }),
                basic: auth
                    .basic
                    .iter()
                    .map(|_| BasicCredential {
                        user: uuid::Uuid::new_v4().simple().to_string(),
                        password: random(),
                    })
                    .collect(),
                query: auth.query.as_ref().map(|q| QueryAuth {
                    param: q.param.clone(),
                    values: q.values.iter().map(|_| random()).collect(),
                }),
                hmac: auth
                    .hmac
                    .iter()
                    .map(|_| SigningKey::new(&random()))
                    .collect(),
            }),
        }
    }

    /// What the shadow must match: mechanisms, names and numbers of secrets.
    fn shape(&self) -> (Option<&str>, usize, usize, Option<&str>, usize, usize) {
        let auth = &self.auth;
        (
            auth.header.as_ref().map(|h| h.name.as_str()),
            auth.header.as_ref().map_or(0, |h| h.values.len()),
            auth.basic.len(),
            auth.query.as_ref().map(|q| q.param.as_str()),
            auth.query.as_ref().map_or(0, |q| q.values.len()),
            auth.hmac.len(),
        )
    }
}

/// Builds [`Credentials`]; the same mechanisms as
/// [`WebhookConfigBuilder`](crate::WebhookConfigBuilder), with the same checks.
#[derive(Default)]
#[must_use]
pub struct CredentialsBuilder {
    pub(crate) header_name: Option<String>,
    pub(crate) header_values: Vec<SecretString>,
    pub(crate) basic: Vec<(String, SecretString)>,
    pub(crate) query_param: Option<String>,
    pub(crate) query_values: Vec<SecretString>,
    pub(crate) hmac: Vec<SecretString>,
    pub(crate) errors: Vec<ConfigError>,
}

impl fmt::Debug for CredentialsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsBuilder")
            .field("header_name", &self.header_name)
            .field("header_values", &self.header_values.len())
            .field(
                "basic_users",
                &self.basic.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .field("query_param", &self.query_param)
            .field("hmac_secrets", &self.hmac.len())
            .finish_non_exhaustive()
    }
}

impl CredentialsBuilder {
    /// Requires the custom header `name` to carry `value`; see
    /// [`WebhookConfigBuilder::header_auth`](crate::WebhookConfigBuilder::header_auth).
    pub fn header_auth(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        let name = name.into();
        match &self.header_name {
            Some(existing) if !existing.eq_ignore_ascii_case(&name) => {
                self.errors.push(ConfigError::SecondHeaderName {
                    first: existing.clone(),
                    second: name,
                });
            }
            _ => self.header_name = Some(name),
        }
        self.header_values.push(value.into());
        self
    }

    /// Requires `Authorization: Basic` with this pair; see
    /// [`WebhookConfigBuilder::basic_auth`](crate::WebhookConfigBuilder::basic_auth).
    pub fn basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.basic.push((user.into(), password.into()));
        self
    }

    /// Requires the query parameter `param` to carry `value`; see
    /// [`WebhookConfigBuilder::query_token`](crate::WebhookConfigBuilder::query_token).
    pub fn query_token(mut self, param: impl Into<String>, value: impl Into<SecretString>) -> Self {
        let param = param.into();
        match &self.query_param {
            Some(existing) if *existing != param => {
                self.errors.push(ConfigError::SecondQueryParam {
                    first: existing.clone(),
                    second: param,
                });
            }
            _ => self.query_param = Some(param),
        }
        self.query_values.push(value.into());
        self
    }

    /// Requires a valid `x-request-signature` for this secret; see
    /// [`WebhookConfigBuilder::hmac_secret`](crate::WebhookConfigBuilder::hmac_secret).
    pub fn hmac_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.hmac.push(secret.into());
        self
    }

    /// Checks and builds the credentials; at least one mechanism is required.
    pub fn build(self) -> Result<Credentials, ConfigError> {
        let auth = self.build_authenticator()?;
        if !auth.is_configured() {
            return Err(ConfigError::NoAuthentication);
        }
        Ok(Credentials {
            auth: Arc::new(auth),
        })
    }

    /// Checks and builds, allowing no mechanism at all.
    pub(crate) fn build_authenticator(self) -> Result<Authenticator, ConfigError> {
        if let Some(error) = self.errors.into_iter().next() {
            return Err(error);
        }
        let empty = |secrets: &[SecretString]| secrets.iter().any(|s| s.expose_secret().is_empty());
        if empty(&self.header_values) {
            return Err(ConfigError::EmptySecret("header value"));
        }
        if empty(&self.query_values) {
            return Err(ConfigError::EmptySecret("query token"));
        }
        if empty(&self.hmac) {
            return Err(ConfigError::EmptySecret("HMAC secret"));
        }
        if self.basic.iter().any(|(user, _)| user.contains(':')) {
            return Err(ConfigError::BasicUserWithColon);
        }
        let header = match self.header_name {
            Some(name) => {
                let parsed = HeaderName::try_from(name.as_str())
                    .map_err(|_| ConfigError::InvalidHeaderName(name.clone()))?;
                if parsed == AUTHORIZATION && !self.basic.is_empty() {
                    return Err(ConfigError::AuthorizationTwice);
                }
                Some(HeaderAuth {
                    name: parsed,
                    values: self.header_values,
                })
            }
            None => None,
        };
        let query = match self.query_param {
            Some(param) if param.is_empty() => {
                return Err(ConfigError::EmptySecret("query parameter name"));
            }
            Some(param) => Some(QueryAuth {
                param,
                values: self.query_values,
            }),
            None => None,
        };
        Ok(Authenticator {
            header,
            basic: self
                .basic
                .into_iter()
                .map(|(user, password)| BasicCredential { user, password })
                .collect(),
            query,
            hmac: self.hmac.iter().map(SigningKey::new).collect(),
        })
    }
}

/// The resolver could not answer (its database is down...): the delivery
/// gets 503, so Tripletex retries; the error is not cached.
#[derive(Debug, thiserror::Error)]
#[error("resolving credentials failed: {0}")]
pub struct ResolveError(#[source] BoxError);

impl ResolveError {
    /// Wraps the underlying error.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(error.into())
    }
}

/// Looks up the credentials of a delivery's subscription or company, from
/// what it claims to be ([`DeliveryIdentity`]): `Ok(None)` when unknown
/// (answered 401 after a dummy verification), `Err` when the lookup failed
/// (answered 503). Set with
/// [`WebhookConfigBuilder::credential_resolver`](crate::WebhookConfigBuilder::credential_resolver).
///
/// Closures `Fn(DeliveryIdentity) -> impl Future<Output = Result<Option<Credentials>, ResolveError>>`
/// implement it:
///
/// ```
/// use tripletex_webhooks_receiver::{Credentials, DeliveryIdentity, ResolveError, WebhookConfig};
///
/// let config = WebhookConfig::builder()
///     .credential_resolver(|identity: DeliveryIdentity| async move {
///         // Look the subscription up in the app's database.
///         Ok::<_, ResolveError>(match identity.subscription_id() {
///             Some(42) => Some(Credentials::builder().hmac_secret("secret-of-42").build()?),
///             _ => None,
///         })
///     })
///     .build()?;
/// # let _ = config;
/// # Ok::<(), tripletex_webhooks_receiver::ConfigError>(())
/// ```
#[async_trait]
pub trait CredentialResolver: Send + Sync {
    /// The credentials to check for this delivery, `None` when unknown.
    async fn resolve(
        &self,
        identity: &DeliveryIdentity,
    ) -> Result<Option<Credentials>, ResolveError>;
}

#[async_trait]
impl<F, Fut> CredentialResolver for F
where
    F: Fn(DeliveryIdentity) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Option<Credentials>, ResolveError>> + Send,
{
    async fn resolve(
        &self,
        identity: &DeliveryIdentity,
    ) -> Result<Option<Credentials>, ResolveError> {
        self(identity.clone()).await
    }
}

impl From<ConfigError> for ResolveError {
    fn from(error: ConfigError) -> Self {
        Self::new(error)
    }
}

/// What a delivery claims: its path, and its body's `subscriptionId`
/// (unverified; `None` when the body is not JSON or has none).
pub(crate) fn identity(uri: &http::Uri, body: &[u8]) -> DeliveryIdentity {
    let subscription_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("subscriptionId")?.as_i64());
    DeliveryIdentity::new(uri.path(), subscription_id)
}

/// The resolver, its cache and the dummy for unknown deliveries.
pub(crate) struct Resolved {
    resolver: Arc<dyn CredentialResolver>,
    cache: CredentialCache,
    dummy: Mutex<Credentials>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    pub(crate) fn new(
        resolver: Arc<dyn CredentialResolver>,
        ttl: Duration,
        capacity: usize,
    ) -> Self {
        // Before any known delivery: one HMAC secret, the costliest check.
        let dummy = Credentials {
            auth: Arc::new(Authenticator {
                hmac: vec![SigningKey::new(&SecretString::from(
                    uuid::Uuid::new_v4().simple().to_string(),
                ))],
                ..Authenticator::default()
            }),
        };
        Self {
            resolver,
            cache: CredentialCache::new(ttl, capacity),
            dummy: Mutex::new(dummy),
        }
    }

    /// The credentials to check: the subscription's, or a dummy of the same
    /// shape (`false`) when it is unknown.
    pub(crate) async fn credentials(
        &self,
        identity: DeliveryIdentity,
    ) -> Result<(Credentials, bool), ResolveError> {
        let found = if let Some(found) = self.cache.get(&identity) {
            found
        } else {
            let found = self.resolver.resolve(&identity).await?;
            self.cache.insert(identity, found.clone());
            found
        };
        let mut dummy = self.dummy.lock().unwrap_or_else(PoisonError::into_inner);
        match found {
            Some(credentials) => {
                if credentials.shape() != dummy.shape() {
                    *dummy = credentials.shadow();
                }
                Ok((credentials, true))
            }
            None => Ok((dummy.clone(), false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadows_keep_the_shape_not_the_secrets() {
        let credentials = Credentials::builder()
            .header_auth("X-Key", "header-secret")
            .basic_auth("user", "password")
            .hmac_secret("one")
            .hmac_secret("two")
            .build()
            .unwrap();
        let shadow = credentials.shadow();
        assert_eq!(shadow.shape(), credentials.shape());
        let header = shadow.auth.header.as_ref().unwrap();
        assert!(
            header
                .values
                .iter()
                .all(|v| v.expose_secret() != "header-secret")
        );
        assert_ne!(shadow.auth.basic[0].user, "user");
    }

    #[test]
    fn credentials_need_a_mechanism() {
        assert_eq!(
            Credentials::builder().build().unwrap_err(),
            ConfigError::NoAuthentication
        );
        assert_eq!(
            Credentials::builder().hmac_secret("").build().unwrap_err(),
            ConfigError::EmptySecret("HMAC secret")
        );
    }
}
