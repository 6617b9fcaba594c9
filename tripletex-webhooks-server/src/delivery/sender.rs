//! One HTTP attempt: build the callback exactly as Tripletex sends it, POST it,
//! and classify the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use tripletex_webhooks_types::emulator::Exchange;
use tripletex_webhooks_types::signature::{self, IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER};
use tripletex_webhooks_types::{EventType, WebhookEnvelope};

use super::attempt_error::AttemptError;
use super::exchange::{Secrets, request_record, response_record};
use super::target_policy::{PublicOnlyResolver, TargetPolicy, check_literal_host};
use crate::store::outbox::ClaimedMessage;

/// The `User-Agent` of callbacks.
pub(crate) const CALLBACK_USER_AGENT: &str =
    concat!("tripletex-webhooks-server/", env!("CARGO_PKG_VERSION"));

/// A `Retry-After` longer than this is capped: a receiver cannot park a message for days.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Sends callbacks.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    client: reqwest::Client,
    block_private: bool,
}

/// A callback ready to send.
#[derive(Debug)]
pub(crate) struct Callback {
    url: url::Url,
    headers: HeaderMap,
    body: Bytes,
    /// Kept out of what the delivery log shows of the response.
    secrets: Secrets,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptResult {
    /// The HTTP status, when a response came.
    pub(crate) status: Option<u16>,
    /// Why it failed; `None` on success.
    pub(crate) error: Option<AttemptError>,
    /// A `Retry-After` from a 429 or 503, capped.
    pub(crate) retry_after: Option<Duration>,
    /// How long it took.
    pub(crate) duration: Duration,
    /// What was sent and what came back, for the delivery log.
    pub(crate) exchange: Exchange,
}

impl AttemptResult {
    /// Whether the target took it (a 2xx).
    pub(crate) fn is_success(&self) -> bool {
        self.error.is_none()
    }

    /// An attempt that failed before anything was sent.
    pub(crate) fn not_sent(error: AttemptError) -> Self {
        Self {
            status: None,
            error: Some(error),
            retry_after: None,
            duration: Duration::ZERO,
            exchange: Exchange::default(),
        }
    }
}

impl Sender {
    /// A sender with a per-attempt timeout that reaches targets as `targets`
    /// says; redirects are never followed, and proxy settings in the
    /// environment are never used (a proxy would reach the target itself,
    /// past the address check).
    pub(crate) fn new(timeout: Duration, targets: &TargetPolicy) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(64)
            .user_agent(CALLBACK_USER_AGENT);
        match targets {
            TargetPolicy::Any => {}
            TargetPolicy::PublicOnly => {
                builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
            }
            TargetPolicy::Proxy(proxy) => {
                builder = builder.proxy(reqwest::Proxy::all(proxy.url().clone())?);
            }
        }
        Ok(Self {
            client: builder.build()?,
            block_private: *targets == TargetPolicy::PublicOnly,
        })
    }

    /// Builds the callback for a message whose payload is already rendered.
    pub(crate) fn prepare(
        &self,
        message: &ClaimedMessage,
        value: Value,
    ) -> Result<Callback, AttemptError> {
        let mut url = url::Url::parse(&message.target_url)
            .map_err(|e| AttemptError::InvalidRequest(format!("invalid target URL: {e}")))?;
        if self.block_private {
            check_literal_host(&url).map_err(|blocked| AttemptError::TargetBlocked(blocked.0))?;
        }
        let mut secrets = Secrets::default();
        secrets.add_query(&url);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(CALLBACK_USER_AGENT));
        headers.insert(
            HeaderName::from_static(IDEMPOTENCY_KEY_HEADER),
            header_value(&message.idempotency_key, "idempotency key")?,
        );
        if let Some(basic) =
            take_basic_auth(&mut url, &mut secrets).map_err(AttemptError::InvalidRequest)?
        {
            headers.insert(AUTHORIZATION, basic);
        }
        if let (Some(name), Some(value)) = (&message.auth_header_name, &message.auth_header_value) {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                AttemptError::InvalidRequest(format!("invalid auth header name {name:?}"))
            })?;
            secrets.add(value.expose_secret());
            let mut value = header_value(value.expose_secret(), "auth header value")?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let body = envelope_body(
            message.subscription_id,
            message.event.clone(),
            message.object_id,
            value,
        )
        .map(Bytes::from)
        .map_err(|e| AttemptError::Render(format!("encoding the envelope: {e}")))?;
        if let Some(secret) = &message.hmac_shared_secret {
            secrets.add(secret.expose_secret());
            let signature = signature::sign(secret, &message.idempotency_key, &body);
            headers.insert(
                HeaderName::from_static(SIGNATURE_HEADER),
                header_value(&signature, "signature")?,
            );
        }
        Ok(Callback {
            url,
            headers,
            body,
            secrets,
        })
    }

    /// POSTs a callback once; the delivery log keeps its body up to
    /// `body_limit` bytes.
    pub(crate) async fn send(&self, callback: Callback, body_limit: usize) -> AttemptResult {
        let request = request_record(&callback.url, &callback.headers, &callback.body, body_limit);
        let started = Instant::now();
        let response = self
            .client
            .post(callback.url)
            .headers(callback.headers)
            .body(callback.body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return AttemptResult {
                    status: None,
                    error: Some(AttemptError::from_request(&error)),
                    retry_after: None,
                    duration: started.elapsed(),
                    exchange: Exchange {
                        request: Some(request),
                        response: None,
                    },
                };
            }
        };
        let status = response.status();
        let retry_after = matches!(status.as_u16(), 429 | 503)
            .then(|| retry_after(response.headers()))
            .flatten();
        // Its content is not ours to judge; the log shows its start.
        let response = response_record(response, &callback.secrets).await;
        AttemptResult {
            status: Some(status.as_u16()),
            error: AttemptError::from_status(status),
            retry_after,
            duration: started.elapsed(),
            exchange: Exchange {
                request: Some(request),
                response: Some(response),
            },
        }
    }
}

/// A callback's body: the envelope of `value`, the rendered payload. The
/// delivery log renders left-out bodies with it too, so they read as sent.
pub(crate) fn envelope_body(
    subscription_id: i64,
    event: EventType,
    object_id: i64,
    value: Value,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&WebhookEnvelope {
        subscription_id,
        event,
        id: object_id,
        value,
    })
}

fn header_value(value: &str, what: &str) -> Result<HeaderValue, AttemptError> {
    HeaderValue::from_str(value).map_err(|_| {
        AttemptError::InvalidRequest(format!("invalid {what} (not a valid header value)"))
    })
}

/// The `user:password@` of a target URL, percent-decoded; `None` without
/// any. Refused when Basic authentication cannot carry them (RFC 7617): not
/// UTF-8, a `:` in the user name, or control characters.
pub(crate) fn url_credentials(url: &url::Url) -> Result<Option<(String, String)>, String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| "the credentials in the target URL are not UTF-8".to_owned())
    };
    let user = decode(url.username())?;
    let password = decode(url.password().unwrap_or_default())?;
    if user.contains(':') {
        return Err("the user name in the target URL contains ':'".to_owned());
    }
    if user.chars().chain(password.chars()).any(char::is_control) {
        return Err("the credentials in the target URL contain control characters".to_owned());
    }
    Ok(Some((user, password)))
}

/// Moves `user:password@` out of the URL into a Basic `Authorization`
/// header, adding the password and the encoded pair to `secrets`.
fn take_basic_auth(
    url: &mut url::Url,
    secrets: &mut Secrets,
) -> Result<Option<HeaderValue>, String> {
    let Some((user, password)) = url_credentials(url)? else {
        return Ok(None);
    };
    let encoded = STANDARD.encode(format!("{user}:{password}"));
    secrets.add(password);
    secrets.add(encoded.as_str());
    url.set_username("")
        .map_err(|()| "cannot remove credentials from the target URL".to_owned())?;
    url.set_password(None)
        .map_err(|()| "cannot remove credentials from the target URL".to_owned())?;
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| "invalid credentials (not a valid header value)".to_owned())?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// `Retry-After` as seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = if let Ok(seconds) = raw.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc2822)
            .ok()?;
        let seconds = (at - time::OffsetDateTime::now_utc())
            .whole_seconds()
            .max(0);
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_leave_the_url() {
        let mut url =
            url::Url::parse("https://us%40er:p%3Ass+w@example.com/hook?token=abc").unwrap();
        let header = take_basic_auth(&mut url, &mut Secrets::default())
            .unwrap()
            .unwrap();
        assert_eq!(url.as_str(), "https://example.com/hook?token=abc");
        let encoded = header
            .to_str()
            .unwrap()
            .strip_prefix("Basic ")
            .unwrap()
            .to_owned();
        assert_eq!(
            String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap(),
            "us@er:p:ss+w"
        );
        let mut plain = url::Url::parse("https://example.com/hook").unwrap();
        assert!(
            take_basic_auth(&mut plain, &mut Secrets::default())
                .unwrap()
                .is_none()
        );
        let mut password_only = url::Url::parse("https://:pw@example.com/hook").unwrap();
        assert!(
            take_basic_auth(&mut password_only, &mut Secrets::default())
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn credentials_basic_cannot_carry_are_refused() {
        for (target, problem) in [
            ("https://%ff:pw@example.com/", "not UTF-8"),
            ("https://user:%c3%28@example.com/", "not UTF-8"),
            ("https://us%3Aer:pw@example.com/", "contains ':'"),
            ("https://user:p%0Aw@example.com/", "control characters"),
            ("https://us%00er@example.com/", "control characters"),
        ] {
            let url = url::Url::parse(target).unwrap();
            let error = url_credentials(&url).unwrap_err();
            assert!(error.contains(problem), "{target}: {error}");
        }
    }

    #[test]
    fn retry_after_is_parsed_and_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("9999999"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
