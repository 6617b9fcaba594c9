//! Sending one API request: URL, headers, retries, tracing and error mapping.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, IF_NONE_MATCH, USER_AGENT};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, RequestContext, Result, rate_limit_reset, request_id};
use crate::retry::{Failure, RetryPolicy};

/// What to send: built by the resources, never logged whole.
pub(crate) struct RequestSpec {
    pub(crate) method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    if_none_match: Option<String>,
    /// Further headers (for streams: `Last-Event-ID`).
    headers: Vec<(&'static str, String)>,
    /// The query or body holds secrets: no snippets of the answer either.
    sensitive: bool,
    /// The path is under the server's root, not the API base (`/_emulator`).
    at_root: bool,
}

impl RequestSpec {
    /// A request to the path made of `segments` under the base URL.
    pub(crate) fn new<S: AsRef<str>>(
        method: Method,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            method,
            segments: segments
                .into_iter()
                .map(|segment| segment.as_ref().to_owned())
                .collect(),
            query: Vec::new(),
            body: None,
            if_none_match: None,
            headers: Vec::new(),
            sensitive: false,
            at_root: false,
        }
    }

    /// Puts the path under the server's root rather than the API base: the
    /// base URL without its last segment (`/v2`), as the emulator API is served.
    #[must_use]
    pub(crate) fn at_root(mut self) -> Self {
        self.at_root = true;
        self
    }

    /// Adds a query parameter.
    #[must_use]
    pub(crate) fn query(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.query.push((name.to_owned(), format!("{value}")));
        self
    }

    /// Adds a query parameter when there is a value.
    #[must_use]
    pub(crate) fn query_opt(self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// Adds a query parameter that is a secret (and marks the request sensitive).
    #[must_use]
    pub(crate) fn secret_query(mut self, name: &str, value: &SecretString) -> Self {
        self.sensitive = true;
        self.query
            .push((name.to_owned(), value.expose_secret().to_owned()));
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|error| Error::invalid_input(format!("cannot serialize the body: {error}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Adds a header (sent by [`Transport::open`]).
    #[must_use]
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets `If-None-Match`.
    #[must_use]
    pub(crate) fn if_none_match(mut self, value: impl Into<String>) -> Self {
        self.if_none_match = Some(value.into());
        self
    }
}

/// A successful (2xx or 304) answer.
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    context: RequestContext,
}

impl RawResponse {
    /// Decodes the body as JSON.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|error| {
            Error::decode(&self.context, self.status, &self.headers, &self.body, error)
        })
    }

    /// A decode error about this answer with a custom message.
    pub(crate) fn decode_error(&self, message: &str) -> Error {
        Error::decode(
            &self.context,
            self.status,
            &self.headers,
            &self.body,
            message.to_owned(),
        )
    }
}

/// The Basic credentials of one request.
pub(crate) struct Credentials<'a> {
    pub(crate) company_id: i64,
    pub(crate) token: &'a SecretString,
}

/// The HTTP side of the client.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
}

/// One attempt's outcome.
enum Attempt {
    Answer(StatusCode, HeaderMap, Vec<u8>),
    Failed(reqwest::Error),
}

impl Transport {
    /// The full URL of a request (with its query: never log it).
    fn url(&self, spec: &RequestSpec) -> Result<Url> {
        let mut url = self.base_url.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::builder("the base URL cannot have a path"))?;
            segments.pop_if_empty();
            if spec.at_root {
                segments.pop();
            }
            segments.extend(&spec.segments);
        }
        if !spec.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&spec.query);
        }
        Ok(url)
    }

    /// Sends a request, retrying as the policy allows; `Ok` for 2xx and 304.
    pub(crate) async fn execute(
        &self,
        spec: &RequestSpec,
        credentials: Option<Credentials<'_>>,
    ) -> Result<RawResponse> {
        let url = self.url(spec)?;
        let context = RequestContext {
            method: spec.method.clone(),
            path: url.path().to_owned(),
            sensitive: spec.sensitive,
        };
        let span = tracing::info_span!(
            "tripletex.request",
            method = %context.method,
            path = %context.path,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.attempts(spec, &url, credentials.as_ref(), context)
            .instrument(span)
            .await
    }

    /// Sends a request once and returns the answer unread, for a body that
    /// streams (no request timeout applies to it); error statuses are read and
    /// mapped as [`Transport::execute`] maps them.
    pub(crate) async fn open(
        &self,
        spec: &RequestSpec,
        credentials: Option<Credentials<'_>>,
    ) -> Result<reqwest::Response> {
        let url = self.url(spec)?;
        let context = RequestContext {
            method: spec.method.clone(),
            path: url.path().to_owned(),
            sensitive: spec.sensitive,
        };
        let mut request = self
            .http
            .request(spec.method.clone(), url)
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "text/event-stream");
        if let Some(credentials) = credentials {
            request = request.basic_auth(
                credentials.company_id,
                Some(credentials.token.expose_secret()),
            );
        }
        for (name, value) in &spec.headers {
            request = request.header(*name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|source| Error::from_transport(&context, source))?;
        let status = response.status();
        if is_error(status) {
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(Error::from_response(&context, status, &headers, &body));
        }
        Ok(response)
    }

    async fn attempts(
        &self,
        spec: &RequestSpec,
        url: &Url,
        credentials: Option<&Credentials<'_>>,
        context: RequestContext,
    ) -> Result<RawResponse> {
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(spec, url, credentials).await;
            record(&outcome, attempt);
            match self.retry.delay(&spec.method, attempt, failure(&outcome)) {
                Some(delay) => {
                    tracing::debug!(attempt, delay_ms = delay.as_millis(), "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return finish(outcome, context),
            }
        }
    }

    async fn attempt(
        &self,
        spec: &RequestSpec,
        url: &Url,
        credentials: Option<&Credentials<'_>>,
    ) -> Attempt {
        let mut request = self
            .http
            .request(spec.method.clone(), url.clone())
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "application/json");
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(credentials) = credentials {
            request = request.basic_auth(
                credentials.company_id,
                Some(credentials.token.expose_secret()),
            );
        }
        if let Some(value) = &spec.if_none_match {
            request = request.header(IF_NONE_MATCH, value);
        }
        if let Some(body) = &spec.body {
            request = request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body.clone());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                match response.bytes().await {
                    Ok(body) => Attempt::Answer(status, headers, body.to_vec()),
                    Err(error) => Attempt::Failed(error),
                }
            }
            Err(error) => Attempt::Failed(error),
        }
    }
}

/// Records the attempt on the request's span.
fn record(outcome: &Attempt, attempt: u32) {
    let span = tracing::Span::current();
    span.record("attempts", attempt);
    if let Attempt::Answer(status, headers, _) = outcome {
        span.record("status", status.as_u16());
        if let Some(id) = request_id(headers) {
            span.record("request_id", tracing::field::display(&id));
        }
    }
}

/// What the retry policy needs to know of an outcome (`Other` for successes).
fn failure(outcome: &Attempt) -> Failure {
    match outcome {
        Attempt::Answer(status, headers, _) if is_error(*status) => {
            Failure::Status(*status, rate_limit_reset(headers))
        }
        Attempt::Failed(error) if error.is_connect() => Failure::Connect,
        Attempt::Answer(..) | Attempt::Failed(_) => Failure::Other,
    }
}

/// Statuses that are errors: everything but 2xx and 304.
fn is_error(status: StatusCode) -> bool {
    !(status.is_success() || status == StatusCode::NOT_MODIFIED)
}

fn finish(outcome: Attempt, context: RequestContext) -> Result<RawResponse> {
    match outcome {
        Attempt::Answer(status, headers, body) if is_error(status) => {
            let error = Error::from_response(&context, status, &headers, &body);
            tracing::debug!(%error, "request failed");
            Err(error)
        }
        Attempt::Answer(status, headers, body) => Ok(RawResponse {
            status,
            headers,
            body,
            context,
        }),
        Attempt::Failed(source) => {
            let error = Error::from_transport(&context, source);
            tracing::debug!(%error, "request failed");
            Err(error)
        }
    }
}
