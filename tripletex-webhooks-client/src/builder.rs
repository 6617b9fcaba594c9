//! `ClientBuilder`: where the API is, who calls it, and how patiently.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::SecretString;
use time::OffsetDateTime;
use url::Url;

use crate::auth::{Auth, Clock, SessionManager, SessionSettings};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::transport::Transport;

/// Tripletex production: `https://tripletex.no/v2`.
pub const PRODUCTION_BASE_URL: &str = "https://tripletex.no/v2";
/// Tripletex's test environment: `https://api-test.tripletex.tech/v2`
/// (its credentials are not valid in production, nor the other way round).
pub const TEST_BASE_URL: &str = "https://api-test.tripletex.tech/v2";
/// The `User-Agent` sent unless another is set.
pub const DEFAULT_USER_AGENT: &str =
    concat!("tripletex-webhooks-client/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Client`]. Setters never fail; [`ClientBuilder::build`]
/// reports what is wrong.
///
/// Authenticate either with a session token you created
/// ([`ClientBuilder::session_token`]), or with the consumer and employee
/// tokens ([`ClientBuilder::consumer_token`], [`ClientBuilder::employee_token`]):
/// then the client creates a session token with `PUT /token/session/:create`
/// on first use, and renews it before it expires (or when Tripletex refuses it).
///
/// ```
/// use std::time::Duration;
/// use tripletex_webhooks_client::{Client, RetryPolicy, TEST_BASE_URL};
///
/// let client = Client::builder()
///     .base_url(TEST_BASE_URL)
///     .consumer_token("test-consumer-token")
///     .employee_token("test-employee-token")
///     .timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().max_attempts(3))
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://api-test.tripletex.tech/v2");
///
/// let error = Client::builder().base_url("not a url").session_token("t").build().unwrap_err();
/// assert!(error.is_builder());
/// # Ok::<(), tripletex_webhooks_client::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    session_token: Option<SecretString>,
    consumer_token: Option<SecretString>,
    employee_token: Option<SecretString>,
    company_id: i64,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    session: SessionSettings,
    clock: Clock,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: PRODUCTION_BASE_URL.to_owned(),
            session_token: None,
            consumer_token: None,
            employee_token: None,
            company_id: 0,
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(10),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            http: None,
            retry: RetryPolicy::default(),
            session: SessionSettings::default(),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }
}

impl ClientBuilder {
    /// A builder for production ([`PRODUCTION_BASE_URL`]) with no credentials yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The API base URL, ending in `/v2`: [`PRODUCTION_BASE_URL`],
    /// [`TEST_BASE_URL`], or a bundled server's `http://127.0.0.1:PORT/v2`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Authenticate with an existing session token (never renewed).
    pub fn session_token(mut self, token: impl Into<SecretString>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The integration's consumer token, for creating session tokens.
    pub fn consumer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.consumer_token = Some(token.into());
        self
    }

    /// The customer's employee token, for creating session tokens.
    pub fn employee_token(mut self, token: impl Into<SecretString>) -> Self {
        self.employee_token = Some(token.into());
        self
    }

    /// The company to act for: `0` (the default) is the token owner's own
    /// company; an accountant's client company id acts as its proxy.
    pub fn company_id(mut self, company_id: i64) -> Self {
        self.company_id = company_id;
        self
    }

    /// The longest one attempt of a request may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No time limit on attempts.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The longest a connection may take to open (default 10 s; not applied
    /// to a client set with [`ClientBuilder::http_client`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The `reqwest::Client` to send with (proxies, TLS roots, pools, ...).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Which failed requests are retried, and when.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Days a created session lasts beyond the renewal margin (default 2, at least 1).
    pub fn session_validity_days(mut self, days: u16) -> Self {
        self.session.validity_days = days;
        self
    }

    /// How long before its expiry a created session is renewed (default 3 h:
    /// Tripletex expires sessions at midnight Norwegian time).
    pub fn renew_before(mut self, margin: Duration) -> Self {
        self.session.renew_before = margin;
        self
    }

    /// Where the client reads the time when it dates and renews sessions
    /// (default: the system clock). For tests.
    pub fn clock(mut self, now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(now);
        self
    }

    /// The client, or what is wrong with the configuration.
    pub fn build(self) -> Result<Client> {
        let base_url = parse_base_url(&self.base_url)?;
        if self.company_id < 0 {
            return Err(Error::builder("the company id cannot be negative"));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent).map_err(|error| {
            Error::builder_with("the user agent is not a valid header value", error)
        })?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|error| Error::builder_with("cannot build the HTTP client", error))?,
        };
        let auth = auth(
            self.session_token,
            self.consumer_token,
            self.employee_token,
            self.session,
            self.clock,
        )?;
        let transport = Transport {
            http,
            base_url,
            user_agent,
            timeout: self.timeout,
            retry: self.retry,
        };
        Ok(Client::from_parts(transport, auth, self.company_id))
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("company_id", &self.company_id)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// An absolute http(s) URL that can take path segments, without query or fragment.
fn parse_base_url(raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw.trim())
        .map_err(|error| Error::builder_with(format!("invalid base URL {raw:?}"), error))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::builder(format!(
            "the base URL {raw:?} must be an http or https URL such as {PRODUCTION_BASE_URL}"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::builder(
            "the base URL must not carry credentials; set the tokens instead",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
    }
    Ok(url)
}

fn auth(
    session_token: Option<SecretString>,
    consumer_token: Option<SecretString>,
    employee_token: Option<SecretString>,
    settings: SessionSettings,
    clock: Clock,
) -> Result<Auth> {
    if settings.validity_days == 0 {
        return Err(Error::builder(
            "sessions must be valid for at least one day",
        ));
    }
    match (session_token, consumer_token, employee_token) {
        (Some(token), None, None) => Ok(Auth::Fixed(token)),
        (None, Some(consumer), Some(employee)) => Ok(Auth::Managed(SessionManager::new(
            consumer, employee, settings, clock,
        ))),
        (Some(_), _, _) => Err(Error::builder(
            "set either a session token or the consumer and employee tokens, not both",
        )),
        (None, Some(_), None) => Err(Error::builder("the employee token is missing")),
        (None, None, Some(_)) => Err(Error::builder("the consumer token is missing")),
        (None, None, None) => Err(Error::builder(
            "no credentials: set a session token, or the consumer and employee tokens",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(builder: ClientBuilder) -> String {
        match builder.build() {
            Ok(_) => String::new(),
            Err(error) => {
                assert!(error.is_builder(), "{error}");
                error.to_string()
            }
        }
    }

    #[test]
    fn base_urls_are_normalised() {
        for raw in [
            "http://127.0.0.1:8080/v2",
            "http://127.0.0.1:8080/v2/",
            " http://127.0.0.1:8080/v2?x=1 ",
        ] {
            let url = parse_base_url(raw)
                .map(|url| url.to_string())
                .unwrap_or_default();
            assert_eq!(url, "http://127.0.0.1:8080/v2", "{raw}");
        }
        for raw in [
            "",
            "tripletex.no/v2",
            "ftp://tripletex.no/v2",
            "mailto:x@y.z",
            "https://u:p@tripletex.no/v2",
        ] {
            assert!(parse_base_url(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn credentials_must_be_complete_and_unambiguous() {
        let base = ClientBuilder::new;
        assert!(error_of(base()).contains("no credentials"));
        assert!(error_of(base().consumer_token("c")).contains("employee token is missing"));
        assert!(error_of(base().employee_token("e")).contains("consumer token is missing"));
        assert!(
            error_of(
                base()
                    .session_token("s")
                    .consumer_token("c")
                    .employee_token("e")
            )
            .contains("not both")
        );
        assert!(error_of(base().session_token("s").company_id(-1)).contains("negative"));
        assert!(
            error_of(base().session_token("s").user_agent("bad\nagent")).contains("user agent")
        );
        assert!(
            error_of(
                base()
                    .consumer_token("c")
                    .employee_token("e")
                    .session_validity_days(0)
            )
            .contains("one day")
        );
        assert_eq!(error_of(base().session_token("s")), "");
        assert_eq!(error_of(base().consumer_token("c").employee_token("e")), "");
    }

    #[test]
    fn debug_shows_no_tokens() {
        let builder = ClientBuilder::new().session_token("very-secret-token");
        assert!(!format!("{builder:?}").contains("very-secret"));
    }
}
