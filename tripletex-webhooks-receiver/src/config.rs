//! [`WebhookConfig`] and its builder: authentication, body limit, dedup store.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::core::auth::Authenticator;
use crate::core::locks::KeyLocks;
use crate::credentials::{
    CredentialResolver, CredentialsBuilder, DEFAULT_CREDENTIAL_CAPACITY, DEFAULT_CREDENTIAL_TTL,
    Resolved,
};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::store::{DedupStore, MemoryStore};

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default claim TTL: a minute. A claim lapses this long after it was
/// taken unless committed or released (a crashed replica's claims included).
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(60);
/// The default claim wait: two seconds, well within Tripletex's request
/// timeout.
pub const DEFAULT_CLAIM_WAIT: Duration = Duration::from_secs(2);

/// How the receiver authenticates, limits and deduplicates deliveries.
///
/// Cheap to clone: clones share the store, the per-object locks and the
/// [`Metrics`], so keep a clone to read the counters after handing one to
/// [`TripletexWebhookLayer::new`](crate::TripletexWebhookLayer::new).
///
/// ```
/// use tripletex_webhooks_receiver::WebhookConfig;
///
/// let config = WebhookConfig::builder()
///     // The subscription's authHeaderName / authHeaderValue.
///     .header_auth("X-Tripletex-Token", "current-token")
///     // During rotation, accept the next value too.
///     .header_auth("X-Tripletex-Token", "next-token")
///     // The subscription's hmacSharedSecret.
///     .hmac_secret("shared-secret")
///     .build()?;
/// assert_eq!(config.metrics().snapshot().accepted, 0);
/// # Ok::<(), tripletex_webhooks_receiver::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct WebhookConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

pub(crate) struct ConfigInner {
    /// The static credentials (none when a resolver is set).
    pub(crate) auth: Authenticator,
    /// The resolver, when credentials are looked up per delivery.
    pub(crate) resolved: Option<Resolved>,
    pub(crate) body_limit: usize,
    pub(crate) store: Arc<dyn DedupStore>,
    pub(crate) pass_redundant: bool,
    pub(crate) claim_ttl: Duration,
    pub(crate) claim_wait: Duration,
    pub(crate) locks: KeyLocks,
    pub(crate) metrics: Metrics,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("WebhookConfig")
            .field("auth", &inner.auth)
            .field("resolved", &inner.resolved)
            .field("body_limit", &inner.body_limit)
            .field("store", &inner.store)
            .field("pass_redundant", &inner.pass_redundant)
            .field("claim_ttl", &inner.claim_ttl)
            .field("claim_wait", &inner.claim_wait)
            .field("metrics", &inner.metrics.snapshot())
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Starts a configuration.
    pub fn builder() -> WebhookConfigBuilder {
        WebhookConfigBuilder::default()
    }

    /// The counters shared by everything built from this configuration.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Shorthand for `metrics().snapshot()`.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The body limit, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The dedup store.
    pub fn store(&self) -> &Arc<dyn DedupStore> {
        &self.inner.store
    }

    /// How long a claim lasts unless committed or released.
    pub fn claim_ttl(&self) -> Duration {
        self.inner.claim_ttl
    }

    /// How long a delivery waits for another user's claim on its object.
    pub fn claim_wait(&self) -> Duration {
        self.inner.claim_wait
    }
}

/// Builds a [`WebhookConfig`]; see [`WebhookConfig::builder`].
///
/// Every configured mechanism is required (header **and** Basic **and**
/// query token **and** HMAC, as configured); each accepts any of its values,
/// so a secret can be rotated by accepting old and new for a while. At least
/// one mechanism is required unless
/// [`allow_unauthenticated`](Self::allow_unauthenticated) is called.
#[derive(Default)]
#[must_use]
pub struct WebhookConfigBuilder {
    credentials: CredentialsBuilder,
    resolver: Option<Arc<dyn CredentialResolver>>,
    credential_cache: Option<(Duration, usize)>,
    body_limit: Option<usize>,
    store: Option<Arc<dyn DedupStore>>,
    pass_redundant: bool,
    claim_ttl: Option<Duration>,
    claim_wait: Option<Duration>,
    allow_unauthenticated: bool,
}

impl fmt::Debug for WebhookConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfigBuilder")
            .field("credentials", &self.credentials)
            .field("resolver", &self.resolver.is_some())
            .field("credential_cache", &self.credential_cache)
            .field("body_limit", &self.body_limit)
            .field("claim_ttl", &self.claim_ttl)
            .field("claim_wait", &self.claim_wait)
            .finish_non_exhaustive()
    }
}

impl WebhookConfigBuilder {
    /// Requires the custom header `name` (the subscription's `authHeaderName`,
    /// the guide's recommended mechanism) to carry `value` (its
    /// `authHeaderValue`). Call again with the same name to accept several
    /// values; one header name per configuration.
    pub fn header_auth(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.credentials = self.credentials.header_auth(name, value);
        self
    }

    /// Requires `Authorization: Basic` with this user and password (from
    /// `https://user:password@host/...` in the subscription's `targetUrl`).
    /// Call again to accept several pairs.
    pub fn basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.credentials = self.credentials.basic_auth(user, password);
        self
    }

    /// Requires the query parameter `param` (as in `targetUrl?token=...`) to
    /// carry `value`. Call again with the same parameter to accept several
    /// values; one parameter per configuration.
    ///
    /// The parameter is compared after form-decoding (`%26` is `&`, `+` is a
    /// space), so configure the decoded value; the guide calls this the least
    /// recommended mechanism, since URLs end up in logs.
    pub fn query_token(mut self, param: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.credentials = self.credentials.query_token(param, value);
        self
    }

    /// Requires a valid `x-request-signature` for this secret (the
    /// subscription's `hmacSharedSecret`), verified over the `idempotency-key`
    /// header and the exact body bytes. Call again to accept several secrets.
    pub fn hmac_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.credentials = self.credentials.hmac_secret(secret);
        self
    }

    /// The largest accepted body, in bytes (default [`DEFAULT_BODY_LIMIT`],
    /// 1 MiB). Larger requests get 413, on `Content-Length` before reading
    /// and while reading otherwise.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// The dedup store (default: a [`MemoryStore`] with its defaults). Pass
    /// an `Arc<dyn DedupStore>` to share one store between configurations.
    pub fn store(mut self, store: impl DedupStore + 'static) -> Self {
        // A shared store is kept as it is: wrapped in one more `Arc`, every
        // call would go through `Arc`'s impl and box one more future.
        let mut slot = Some(store);
        let shared = (&mut slot as &mut dyn Any)
            .downcast_mut::<Option<Arc<dyn DedupStore>>>()
            .and_then(Option::take);
        self.store = shared.or_else(|| slot.map(|store| Arc::new(store) as Arc<dyn DedupStore>));
        self
    }

    /// Also call the handler for stale and duplicate deliveries (default:
    /// acknowledge them with 200 without calling it). The handler sees the
    /// decision in [`Delivery::freshness`](crate::Delivery::freshness);
    /// nothing is recorded for them.
    pub fn pass_redundant(mut self, pass: bool) -> Self {
        self.pass_redundant = pass;
        self
    }

    /// How long the store's claim on an object lasts while its handler runs
    /// (default [`DEFAULT_CLAIM_TTL`], a minute; at least a millisecond).
    ///
    /// A receiver (a replica, or a process on a shared `SqliteStore` file)
    /// that crashes mid-handler holds the object for at most this long:
    /// until then the store's other users answer its deliveries with 503,
    /// and Tripletex retries. Keep it well above the slowest handler: a
    /// handler that outlives its claim may run concurrently with another
    /// route's or replica's (a warning is logged when it happens).
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = Some(ttl);
        self
    }

    /// How long a delivery waits for another user of the store (another
    /// route's configuration, store handle or replica) to finish with its
    /// object (default [`DEFAULT_CLAIM_WAIT`], two seconds) before it is
    /// answered 503 with `Retry-After` ([`Rejection::Busy`](crate::Rejection::Busy)),
    /// so Tripletex retries later. Zero answers 503 at once. Deliveries
    /// through this configuration wait for each other without a bound (a
    /// per-object lock), not for the claim.
    pub fn claim_wait(mut self, wait: Duration) -> Self {
        self.claim_wait = Some(wait);
        self
    }

    /// Looks the credentials up per delivery (per subscription or company)
    /// instead of configuring them here: see [`CredentialResolver`] and
    /// [`crate::credentials`] for what identifies a delivery and why that is
    /// safe. Answers are cached (see
    /// [`credential_cache`](Self::credential_cache)); an unknown delivery
    /// gets 401 after a dummy verification, a resolver error 503.
    ///
    /// The static mechanisms ([`header_auth`](Self::header_auth) and the
    /// others) cannot be combined with a resolver
    /// ([`ConfigError::ResolverAndStatic`]). With a resolver, the head is
    /// authenticated once the body is read (the `subscriptionId` is in it),
    /// so 405 and 413 on `Content-Length` come before 401.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::Arc;
    /// use tripletex_webhooks_receiver::{Credentials, DeliveryIdentity, ResolveError, WebhookConfig};
    ///
    /// // Subscription id -> its hmacSharedSecret, as in the app's database.
    /// let secrets = Arc::new(HashMap::from([(1, "secret-of-acme"), (2, "secret-of-globex")]));
    /// let config = WebhookConfig::builder()
    ///     .credential_resolver(move |identity: DeliveryIdentity| {
    ///         let secrets = Arc::clone(&secrets);
    ///         async move {
    ///             let secret = identity.subscription_id().and_then(|id| secrets.get(&id).copied());
    ///             secret
    ///                 .map(|secret| Credentials::builder().hmac_secret(secret).build())
    ///                 .transpose()
    ///                 .map_err(ResolveError::new)
    ///         }
    ///     })
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), tripletex_webhooks_receiver::ConfigError>(())
    /// ```
    pub fn credential_resolver(mut self, resolver: impl CredentialResolver + 'static) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// How long the resolver's answers (credentials, or `None` for an
    /// unknown delivery) are cached, and how many at most (default
    /// [`DEFAULT_CREDENTIAL_TTL`], a minute, and
    /// [`DEFAULT_CREDENTIAL_CAPACITY`]). A changed secret is seen within the
    /// TTL; so is a new subscription refused before it existed (Tripletex
    /// retries). Errors are not cached. A zero TTL or capacity caches nothing.
    pub fn credential_cache(mut self, ttl: Duration, capacity: usize) -> Self {
        self.credential_cache = Some((ttl, capacity));
        self
    }

    /// Accepts deliveries without any authentication. Only for local
    /// development or when something in front of the receiver authenticates.
    pub fn allow_unauthenticated(mut self) -> Self {
        self.allow_unauthenticated = true;
        self
    }

    /// Checks and builds the configuration.
    pub fn build(self) -> Result<WebhookConfig, ConfigError> {
        let auth = self.credentials.build_authenticator()?;
        let resolved = match self.resolver {
            Some(_) if auth.is_configured() => return Err(ConfigError::ResolverAndStatic),
            Some(resolver) => {
                let (ttl, capacity) = self
                    .credential_cache
                    .unwrap_or((DEFAULT_CREDENTIAL_TTL, DEFAULT_CREDENTIAL_CAPACITY));
                Some(Resolved::new(resolver, ttl, capacity))
            }
            None => None,
        };
        if !auth.is_configured() && resolved.is_none() && !self.allow_unauthenticated {
            return Err(ConfigError::NoAuthentication);
        }
        let body_limit = self.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
        if body_limit == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let claim_ttl = self.claim_ttl.unwrap_or(DEFAULT_CLAIM_TTL);
        if claim_ttl < Duration::from_millis(1) {
            return Err(ConfigError::ClaimTtlTooShort);
        }
        Ok(WebhookConfig {
            inner: Arc::new(ConfigInner {
                auth,
                resolved,
                body_limit,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                pass_redundant: self.pass_redundant,
                claim_ttl,
                claim_wait: self.claim_wait.unwrap_or(DEFAULT_CLAIM_WAIT),
                locks: KeyLocks::default(),
                metrics: Metrics::default(),
            }),
        })
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No mechanism is configured and unauthenticated use was not allowed.
    #[error(
        "no authentication configured: set header_auth, basic_auth, query_token or hmac_secret, \
         or call allow_unauthenticated"
    )]
    NoAuthentication,
    /// The custom header name is not a valid HTTP header name.
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// Two different custom header names were configured.
    #[error("one custom auth header per configuration, got {first:?} and {second:?}")]
    SecondHeaderName {
        /// The first name.
        first: String,
        /// The other name.
        second: String,
    },
    /// Two different query token parameters were configured.
    #[error("one query token parameter per configuration, got {first:?} and {second:?}")]
    SecondQueryParam {
        /// The first parameter.
        first: String,
        /// The other parameter.
        second: String,
    },
    /// The custom header is `Authorization` while Basic is configured too:
    /// one request cannot carry both.
    #[error("the custom auth header cannot be Authorization when Basic credentials are configured")]
    AuthorizationTwice,
    /// A Basic username contains `:`, which Basic cannot carry.
    #[error("a Basic username cannot contain ':'")]
    BasicUserWithColon,
    /// An empty secret, value or name (it would accept an empty credential).
    #[error("empty {0}")]
    EmptySecret(&'static str),
    /// A body limit of zero.
    #[error("the body limit must be at least one byte")]
    ZeroBodyLimit,
    /// A claim TTL below a millisecond.
    #[error("the claim TTL must be at least a millisecond")]
    ClaimTtlTooShort,
    /// A credential resolver and static credentials were both configured.
    #[error("a credential resolver replaces the static credentials: configure one or the other")]
    ResolverAndStatic,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unsafe_or_ambiguous_configurations() {
        let error = |builder: WebhookConfigBuilder| builder.build().unwrap_err();
        assert_eq!(
            error(WebhookConfig::builder()),
            ConfigError::NoAuthentication
        );
        assert!(
            WebhookConfig::builder()
                .allow_unauthenticated()
                .build()
                .is_ok()
        );
        assert_eq!(
            error(WebhookConfig::builder().header_auth("bad name", "v")),
            ConfigError::InvalidHeaderName("bad name".into())
        );
        assert!(matches!(
            error(
                WebhookConfig::builder()
                    .header_auth("a", "v")
                    .header_auth("b", "w")
            ),
            ConfigError::SecondHeaderName { .. }
        ));
        assert!(
            WebhookConfig::builder()
                .header_auth("X-Key", "v")
                .header_auth("x-key", "w")
                .build()
                .is_ok(),
            "header names are case-insensitive"
        );
        assert!(matches!(
            error(
                WebhookConfig::builder()
                    .query_token("a", "v")
                    .query_token("b", "w")
            ),
            ConfigError::SecondQueryParam { .. }
        ));
        assert_eq!(
            error(
                WebhookConfig::builder()
                    .header_auth("Authorization", "Bearer x")
                    .basic_auth("u", "p")
            ),
            ConfigError::AuthorizationTwice
        );
        assert_eq!(
            error(WebhookConfig::builder().hmac_secret("")),
            ConfigError::EmptySecret("HMAC secret")
        );
        assert_eq!(
            error(WebhookConfig::builder().header_auth("X-Key", "")),
            ConfigError::EmptySecret("header value")
        );
        assert_eq!(
            error(WebhookConfig::builder().basic_auth("a:b", "p")),
            ConfigError::BasicUserWithColon
        );
        assert_eq!(
            error(WebhookConfig::builder().hmac_secret("s").body_limit(0)),
            ConfigError::ZeroBodyLimit
        );
        assert_eq!(
            error(
                WebhookConfig::builder()
                    .hmac_secret("s")
                    .claim_ttl(Duration::ZERO)
            ),
            ConfigError::ClaimTtlTooShort
        );
    }

    #[test]
    fn a_shared_store_is_kept_as_it_is() {
        let shared: Arc<dyn DedupStore> = Arc::new(MemoryStore::new());
        let config = WebhookConfig::builder()
            .allow_unauthenticated()
            .store(Arc::clone(&shared))
            .build()
            .unwrap();
        assert!(Arc::ptr_eq(config.store(), &shared));
        let store = MemoryStore::new();
        let config = WebhookConfig::builder()
            .allow_unauthenticated()
            .store(store)
            .build()
            .unwrap();
        assert!(!Arc::ptr_eq(config.store(), &shared));
        assert_eq!(
            Arc::strong_count(&shared),
            2,
            "held by the first config only"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let config = WebhookConfig::builder()
            .header_auth("X-Key", "header-secret-value")
            .basic_auth("user", "basic-secret-password")
            .query_token("token", "query-secret-token")
            .hmac_secret("hmac-secret-key");
        let builder = format!("{config:?}");
        let built = format!("{:?}", config.build().unwrap());
        for debug in [builder, built] {
            for secret in [
                "header-secret-value",
                "basic-secret-password",
                "query-secret-token",
                "hmac-secret-key",
            ] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
    }
}
