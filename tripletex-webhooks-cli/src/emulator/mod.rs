//! The bundled server's emulator API (`/_emulator/...`), called with the
//! same settings as the Tripletex client: base URL, company, timeout,
//! credentials (a session token, created from the tokens when needed).
//!
//! Tripletex itself has no such API: a Tripletex host is refused before any
//! request, and a server that answers 404 for the routes is reported as
//! having none.

mod wire;

use std::fmt::Write as _;
use std::sync::Mutex;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tripletex_webhooks_client::types::{ApiError, ListResponse, SessionToken, ValueResponse};
use url::Url;

pub(crate) use wire::{ClockState, Delivery, DeliveryFilter, Emitted};

use crate::error::CliError;
use crate::settings::{Credentials, Settings, USER_AGENT, is_tripletex};

/// The header the server puts its request id in.
const REQUEST_ID_HEADER: &str = "x-tlx-request-id";

/// The bundled server's message for a route it does not have.
const UNKNOWN_ROUTE: &str = "No such endpoint.";

/// A handle on the emulator API.
#[derive(Debug)]
pub(crate) struct Emulator {
    http: reqwest::Client,
    settings: Settings,
    /// The server's root: the base URL without its `/v2`.
    root: Url,
    /// The session token, once known.
    token: Mutex<Option<SecretString>>,
}

impl Emulator {
    /// A handle for these settings; refuses Tripletex's own hosts.
    pub(crate) fn new(settings: &Settings) -> Result<Self, CliError> {
        refuse_tripletex(&settings.base_url)?;
        let mut root = settings.base_url.clone();
        if let Ok(mut segments) = root.path_segments_mut() {
            segments.pop_if_empty();
        }
        if root.path().ends_with("/v2") {
            if let Ok(mut segments) = root.path_segments_mut() {
                segments.pop();
            }
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|error| CliError::Usage(format!("cannot build the HTTP client: {error}")))?;
        Ok(Self {
            http,
            settings: settings.clone(),
            root,
            token: Mutex::new(None),
        })
    }

    /// `POST /_emulator/events`: emits `event` for object `id`.
    pub(crate) async fn emit(
        &self,
        event: &str,
        id: i64,
        value: Value,
    ) -> Result<Emitted, CliError> {
        let body = json!({"event": event, "id": id, "value": value});
        self.value(Method::POST, &["events"], &[], Some(body)).await
    }

    /// `GET /_emulator/clock`.
    pub(crate) async fn clock(&self) -> Result<ClockState, CliError> {
        self.value(Method::GET, &["clock"], &[], None).await
    }

    /// `POST /_emulator/clock/advance`.
    pub(crate) async fn advance(&self, by: std::time::Duration) -> Result<ClockState, CliError> {
        let body = json!({"seconds": by.as_secs_f64()});
        self.value(Method::POST, &["clock", "advance"], &[], Some(body))
            .await
    }

    /// `GET /_emulator/deliveries`: one page, newest first.
    pub(crate) async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        from: u64,
        count: u64,
    ) -> Result<ListResponse<Delivery>, CliError> {
        let mut query = filter.query();
        query.push(("from", from.to_string()));
        query.push(("count", count.to_string()));
        let answer = self
            .call(Method::GET, &["deliveries"], &query, None)
            .await?;
        decode(&Method::GET, "/_emulator/deliveries", &answer)
    }

    /// `POST /_emulator/deliveries/{id}/redeliver`.
    pub(crate) async fn redeliver(&self, id: i64) -> Result<(), CliError> {
        let id = id.to_string();
        self.call(Method::POST, &["deliveries", &id, "redeliver"], &[], None)
            .await
            .map(drop)
    }

    /// Sends a request and decodes the `value` of its `{"value": …}` answer.
    async fn value<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T, CliError> {
        let path = format!("/_emulator/{}", segments.join("/"));
        let answer = self.call(method.clone(), segments, query, body).await?;
        decode::<ValueResponse<T>>(&method, &path, &answer).map(|v| v.value)
    }

    /// Sends an authenticated request to `/_emulator/<segments>`; its body on success.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Vec<u8>, CliError> {
        let token = self.session_token().await?;
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("_emulator").extend(segments);
        }
        let path = url.path().to_owned();
        let mut request = self
            .http
            .request(method.clone(), url)
            .query(query)
            .basic_auth(self.settings.company_id, Some(token.expose_secret()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| transport(&method, &path, &error))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| transport(&method, &path, &error))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(self.refusal(&method, &path, status, request_id, &bytes))
    }

    /// The error for an error answer.
    fn refusal(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        request_id: Option<String>,
        body: &[u8],
    ) -> CliError {
        let api = serde_json::from_slice::<ApiError>(body).ok();
        // The bundled server answers an unknown route 404 "No such endpoint."
        // (as the developer message); Tripletex answers it without an ApiError.
        let unknown_route = api.as_ref().is_none_or(|api| {
            [api.message.as_deref(), api.developer_message.as_deref()]
                .contains(&Some(UNKNOWN_ROUTE))
        });
        if status == StatusCode::NOT_FOUND && unknown_route {
            return CliError::NoEmulator(format!(
                "{} has no emulator API ({method} {path} answered 404): is it the bundled server, \
                 started without --no-emulator-api?",
                self.root
            ));
        }
        let message = match &api {
            Some(api) => {
                let mut message = api.message.clone().unwrap_or_else(|| status.to_string());
                if let Some(detail) = &api.developer_message {
                    let _ = write!(message, " ({detail})");
                }
                for validation in api.validation_messages() {
                    let _ = write!(message, "; {validation}");
                }
                message
            }
            None => snippet(body),
        };
        CliError::Emulator {
            method: method.to_string(),
            path: path.to_owned(),
            status: status.as_u16(),
            message,
            request_id: request_id.or_else(|| api.and_then(|api| api.request_id)),
        }
    }

    /// The session token: the configured one, or one created from the tokens
    /// (`PUT /v2/token/session/:create`) on first use.
    async fn session_token(&self) -> Result<SecretString, CliError> {
        let (consumer, employee) = match &self.settings.credentials {
            Credentials::Session(token) => return Ok(token.clone()),
            Credentials::Tokens { consumer, employee } => (consumer, employee),
        };
        if let Some(token) = self.cached_token() {
            return Ok(token);
        }
        let method = Method::PUT;
        let mut url = self.settings.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["token", "session", ":create"]);
        }
        let path = url.path().to_owned();
        let tomorrow = OffsetDateTime::now_utc()
            .date()
            .next_day()
            .unwrap_or(time::Date::MAX);
        let expiration = format!(
            "{:04}-{:02}-{:02}",
            tomorrow.year(),
            u8::from(tomorrow.month()),
            tomorrow.day()
        );
        let response = self
            .http
            .request(method.clone(), url)
            .query(&[
                ("consumerToken", consumer.expose_secret()),
                ("employeeToken", employee.expose_secret()),
                ("expirationDate", expiration.as_str()),
            ])
            .send()
            .await
            .map_err(|error| transport(&method, &path, &error))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| transport(&method, &path, &error))?;
        if !status.is_success() {
            return Err(self.refusal(&method, &path, status, request_id, &bytes));
        }
        let created = serde_json::from_slice::<ValueResponse<SessionToken>>(&bytes)
            .ok()
            .and_then(|created| created.value.token)
            .ok_or_else(|| CliError::EmulatorTransport {
                method: method.to_string(),
                path: path.clone(),
                message: "the answer holds no session token".to_owned(),
            })?;
        if let Ok(mut cached) = self.token.lock() {
            *cached = Some(created.clone());
        }
        Ok(created)
    }

    fn cached_token(&self) -> Option<SecretString> {
        self.token.lock().ok().and_then(|token| token.clone())
    }
}

/// Refuses Tripletex's own hosts, which have no emulator API.
pub(crate) fn refuse_tripletex(base_url: &Url) -> Result<(), CliError> {
    if is_tripletex(base_url) {
        return Err(CliError::NoEmulator(format!(
            "{} is Tripletex itself: trigger, deliveries, redeliver and clock work only against \
             the bundled server (--base-url local)",
            base_url.host_str().unwrap_or_default()
        )));
    }
    Ok(())
}

/// Decodes a JSON answer.
fn decode<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T, CliError> {
    serde_json::from_slice(body).map_err(|error| CliError::EmulatorTransport {
        method: method.to_string(),
        path: path.to_owned(),
        message: format!(
            "cannot decode the answer: {error}; it starts with {:?}",
            snippet(body)
        ),
    })
}

/// A request that got no answer; the URL (which may hold tokens) is left out.
fn transport(method: &Method, path: &str, error: &reqwest::Error) -> CliError {
    let mut message = if error.is_timeout() {
        "the request timed out".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    CliError::EmulatorTransport {
        method: method.to_string(),
        path: path.to_owned(),
        message,
    }
}

/// The start of a body, for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut shown: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        shown.push('…');
    }
    shown
}
