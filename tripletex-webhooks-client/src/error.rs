//! The one error type of this crate: opaque, with a kind to query.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use tripletex_webhooks_types::ApiError;
use tripletex_webhooks_types::emulator::DeliveryRecord;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The header Tripletex puts its request id in, on every response.
pub(crate) const REQUEST_ID_HEADER: &str = "x-tlx-request-id";
/// The header with the seconds left of the current rate-limit period.
pub(crate) const RATE_LIMIT_RESET_HEADER: &str = "x-rate-limit-reset";

/// How many characters of an undecodable body an error keeps.
const SNIPPET_CHARS: usize = 200;

/// Everything that can go wrong, as one opaque type (like `reqwest::Error`).
///
/// Ask what it is with the `is_*` methods, and read the details that apply
/// with [`Error::status`], [`Error::api_error`], [`Error::request_id`] and
/// [`Error::body_snippet`]. Messages never contain tokens, secrets or query
/// strings: only the method and path of the request.
///
/// ```
/// # async fn demo(client: tripletex_webhooks_client::Client) {
/// match client.subscriptions().get(42).await {
///     Ok(subscription) => println!("{:?}", subscription.status),
///     Err(error) if error.is_not_found() => println!("no subscription 42"),
///     Err(error) => eprintln!("{error} (request id {:?})", error.request_id()),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: Kind,
    method: Option<Method>,
    path: Option<String>,
    status: Option<StatusCode>,
    request_id: Option<String>,
    api: Option<ApiError>,
    snippet: Option<String>,
    retry_after: Option<Duration>,
    message: Option<String>,
    source: Option<BoxError>,
    /// For a wait that timed out: the deliveries last seen.
    seen: Option<Vec<DeliveryRecord>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Builder,
    InvalidInput,
    Api,
    RateLimited,
    Timeout,
    Transport,
    Decode,
    WaitTimedOut,
}

/// The request an error is about: its method and path (never the query).
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// Whether the request or its answer carries secrets (session creation):
    /// then no body snippet is kept.
    pub(crate) sensitive: bool,
}

impl Error {
    fn new(kind: Kind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                method: None,
                path: None,
                status: None,
                request_id: None,
                api: None,
                snippet: None,
                retry_after: None,
                message: None,
                source: None,
                seen: None,
            }),
        }
    }

    fn with_context(mut self, context: &RequestContext) -> Self {
        self.inner.method = Some(context.method.clone());
        self.inner.path = Some(context.path.clone());
        self
    }

    /// An invalid client configuration, reported by `ClientBuilder::build`.
    pub(crate) fn builder(message: impl Into<String>) -> Self {
        let mut error = Self::new(Kind::Builder);
        error.inner.message = Some(message.into());
        error
    }

    /// A builder error caused by another error.
    pub(crate) fn builder_with(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let mut error = Self::builder(message);
        error.inner.source = Some(source.into());
        error
    }

    /// Arguments the client refuses before sending anything.
    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        let mut error = Self::new(Kind::InvalidInput);
        error.inner.message = Some(message.into());
        error
    }

    /// An answer with an error status.
    pub(crate) fn from_response(
        context: &RequestContext,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let kind = if status == StatusCode::TOO_MANY_REQUESTS {
            Kind::RateLimited
        } else {
            Kind::Api
        };
        let mut error = Self::new(kind).with_context(context);
        let api = serde_json::from_slice::<ApiError>(body).ok();
        if api.is_none() && !context.sensitive && !body.is_empty() {
            error.inner.snippet = Some(snippet(body));
        }
        error.inner.status = Some(status);
        error.inner.request_id =
            request_id(headers).or_else(|| api.as_ref().and_then(|api| api.request_id.clone()));
        if kind == Kind::RateLimited {
            error.inner.retry_after = rate_limit_reset(headers);
        }
        error.inner.api = api;
        error
    }

    /// A request that got no answer.
    pub(crate) fn from_transport(context: &RequestContext, source: reqwest::Error) -> Self {
        let kind = if source.is_timeout() {
            Kind::Timeout
        } else {
            Kind::Transport
        };
        let mut error = Self::new(kind).with_context(context);
        // The URL may carry tokens in its query (session creation): drop it.
        error.inner.source = Some(Box::new(source.without_url()));
        error
    }

    /// A success whose body is not what was expected.
    pub(crate) fn decode(
        context: &RequestContext,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        source: impl Into<BoxError>,
    ) -> Self {
        let mut error = Self::new(Kind::Decode).with_context(context);
        error.inner.status = Some(status);
        error.inner.request_id = request_id(headers);
        error.inner.snippet = Some(if context.sensitive {
            "<redacted: the body holds a secret>".to_owned()
        } else {
            snippet(body)
        });
        error.inner.source = Some(source.into());
        error
    }

    /// A wait for deliveries that ran out of time; `seen` is what the
    /// delivery log held when it did.
    pub(crate) fn wait_timed_out(timeout: Duration, seen: Vec<DeliveryRecord>) -> Self {
        let mut error = Self::new(Kind::WaitTimedOut);
        error.inner.message = Some(format!(
            "the deliveries did not get there within {timeout:?} ({} seen)",
            seen.len()
        ));
        error.inner.seen = Some(seen);
        error
    }

    /// A stream whose connection failed after it opened.
    pub(crate) fn stream_failed(path: &str, source: reqwest::Error) -> Self {
        let mut error = Self::new(Kind::Transport);
        error.inner.method = Some(Method::GET);
        error.inner.path = Some(path.to_owned());
        error.inner.message = Some("the stream broke off".to_owned());
        error.inner.source = Some(Box::new(source.without_url()));
        error
    }

    /// A stream that the server ended (it stops).
    pub(crate) fn stream_ended(path: &str) -> Self {
        let mut error = Self::new(Kind::Transport);
        error.inner.method = Some(Method::GET);
        error.inner.path = Some(path.to_owned());
        error.inner.message = Some("the server ended the stream".to_owned());
        error
    }

    /// A stream event that could not be decoded.
    pub(crate) fn stream_decode(path: &str, data: &str, source: impl Into<BoxError>) -> Self {
        let mut error = Self::new(Kind::Decode);
        error.inner.method = Some(Method::GET);
        error.inner.path = Some(path.to_owned());
        error.inner.snippet = Some(snippet(data.as_bytes()));
        error.inner.source = Some(source.into());
        error
    }

    /// Whether the client configuration is invalid (from `ClientBuilder::build`).
    pub fn is_builder(&self) -> bool {
        self.inner.kind == Kind::Builder
    }

    /// Whether the client refused the arguments before sending a request.
    pub fn is_invalid_input(&self) -> bool {
        self.inner.kind == Kind::InvalidInput
    }

    /// Whether Tripletex answered with an error status (other than 429).
    /// [`Error::api_error`] has the decoded body when it was an `ApiError`.
    pub fn is_api(&self) -> bool {
        self.inner.kind == Kind::Api
    }

    /// Whether Tripletex answered 429 Too Many Requests (after any retries).
    pub fn is_rate_limited(&self) -> bool {
        self.inner.kind == Kind::RateLimited
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout
    }

    /// Whether the request failed without an answer (connection refused, reset, TLS, ...).
    pub fn is_transport(&self) -> bool {
        self.inner.kind == Kind::Transport
    }

    /// Whether a successful answer could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    /// Whether a wait for deliveries
    /// ([`EmulatorClient::wait_for_deliveries`](crate::emulator::EmulatorClient::wait_for_deliveries))
    /// ran out of time; [`Error::seen_deliveries`] has what it saw last.
    pub fn is_wait_timeout(&self) -> bool {
        self.inner.kind == Kind::WaitTimedOut
    }

    /// For a wait that timed out: the deliveries (of its filter) the log held
    /// when it did.
    pub fn seen_deliveries(&self) -> Option<&[DeliveryRecord]> {
        self.inner.seen.as_deref()
    }

    /// Whether the credentials were refused (401) or lack access (403).
    pub fn is_auth(&self) -> bool {
        self.is_api()
            && matches!(
                self.inner.status,
                Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            )
    }

    /// Whether the change conflicts with the current state (409), such as a
    /// stale `version` (code 8000).
    pub fn is_conflict(&self) -> bool {
        self.is_api() && self.inner.status == Some(StatusCode::CONFLICT)
    }

    /// Whether the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.is_api() && self.inner.status == Some(StatusCode::NOT_FOUND)
    }

    /// The decoded `ApiError` body of an error answer, when it was one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// Tripletex's request id (`x-tlx-request-id`), to quote to its support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The start of a body that could not be decoded.
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.snippet.as_deref()
    }

    /// For a rate-limited answer: the seconds left of the rate-limit period,
    /// from `X-Rate-Limit-Reset` (Tripletex sometimes omits it).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The method of the failed request.
    pub fn method(&self) -> Option<&Method> {
        self.inner.method.as_ref()
    }

    /// The path of the failed request (never its query).
    pub fn path(&self) -> Option<&str> {
        self.inner.path.as_deref()
    }

    fn describe_kind(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            Kind::Builder => f.write_str("invalid client configuration"),
            Kind::InvalidInput => f.write_str("invalid input"),
            Kind::Api => f.write_str("Tripletex answered with an error"),
            Kind::RateLimited => f.write_str("rate limited by Tripletex"),
            Kind::Timeout => f.write_str("the request timed out"),
            Kind::Transport => f.write_str("the request failed"),
            Kind::Decode => f.write_str("could not decode the answer"),
            Kind::WaitTimedOut => f.write_str("timed out waiting"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(method), Some(path)) = (&self.inner.method, &self.inner.path) {
            write!(f, "{method} {path}: ")?;
        }
        self.describe_kind(f)?;
        if let Some(status) = self.inner.status {
            write!(f, " ({status})")?;
        }
        if let Some(message) = &self.inner.message {
            write!(f, ": {message}")?;
        }
        if let Some(api) = &self.inner.api {
            write!(f, ": {api}")?;
            if let Some(developer_message) = &api.developer_message {
                write!(f, " ({developer_message})")?;
            }
        } else if let Some(request_id) = &self.inner.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        if let Some(reset) = self.inner.retry_after {
            write!(f, "; the limit resets in {}s", reset.as_secs())?;
        }
        // The whole chain: reqwest's own message ("error sending request")
        // says little without its causes ("Connection refused").
        let mut source = self
            .inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static));
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        if let Some(snippet) = &self.inner.snippet {
            write!(f, "; the body starts with {snippet:?}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// The `x-tlx-request-id` header.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `X-Rate-Limit-Reset`, in whole seconds, when present and well formed.
pub(crate) fn rate_limit_reset(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RATE_LIMIT_RESET_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The first characters of a body, lossily decoded.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        RequestContext {
            method: Method::GET,
            path: "/v2/event/subscription/7".to_owned(),
            sensitive: false,
        }
    }

    #[test]
    fn api_errors_keep_the_decoded_body() {
        let body = br#"{"status":404,"code":6000,"message":"Object not found","requestId":"r-1"}"#;
        let error =
            Error::from_response(&context(), StatusCode::NOT_FOUND, &HeaderMap::new(), body);
        assert!(error.is_api() && error.is_not_found() && !error.is_conflict());
        assert_eq!(error.request_id(), Some("r-1"));
        assert_eq!(error.api_error().map(|api| api.code.as_i32()), Some(6000));
        assert_eq!(error.body_snippet(), None);
        let message = error.to_string();
        assert!(
            message.starts_with("GET /v2/event/subscription/7: Tripletex answered with an error"),
            "{message}"
        );
        assert!(message.contains("Object not found"), "{message}");
    }

    #[test]
    fn snippets_are_bounded_and_redacted_when_sensitive() {
        let body = "x".repeat(1000);
        let error = Error::decode(
            &context(),
            StatusCode::OK,
            &HeaderMap::new(),
            body.as_bytes(),
            "bad",
        );
        assert_eq!(
            error.body_snippet().map(|s| s.chars().count()),
            Some(SNIPPET_CHARS + 1)
        );
        let sensitive = RequestContext {
            sensitive: true,
            ..context()
        };
        let error = Error::decode(
            &sensitive,
            StatusCode::OK,
            &HeaderMap::new(),
            br#"{"value":{"token":"secret-token"}}"#,
            "bad",
        );
        assert!(!error.to_string().contains("secret-token"));
        assert!(!format!("{error:?}").contains("secret-token"));
    }

    #[test]
    fn rate_limit_reset_parses_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_reset(&headers), None);
        headers.insert(
            RATE_LIMIT_RESET_HEADER,
            " 12 ".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(rate_limit_reset(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            RATE_LIMIT_RESET_HEADER,
            "soon".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(rate_limit_reset(&headers), None);
    }
}
