//! Authentication: session tokens from `PUT /token/session/:create`, presented
//! as `Authorization: Basic base64("<companyId or 0>:<sessionToken>")`,
//! and on the emulator's routes the dashboard's cookie ([`dashboard`]).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::digest::token_digest;
use crate::http::error::ServerError;
use crate::http::middleware::RequestId;
use crate::http::state::AppState;
use crate::http::ui::session as dashboard;
use crate::store::{Company, Session};

/// The `(username, token)` of a Basic `Authorization` header.
pub(crate) fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let header = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (username, token) = decoded.split_once(':')?;
    Some((username.to_owned(), token.to_owned()))
}

/// An authenticated caller: the extractor every protected handler takes.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The session used.
    pub(crate) session: Session,
    /// The `x-tlx-request-id` of the request, carried to the events it causes.
    request_id: Option<RequestId>,
}

impl Caller {
    /// The caller's company.
    pub(crate) fn company(&self) -> Company {
        self.session.company
    }

    /// The id of the request being served, when the middleware gave it one.
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().map(|id| id.0.as_str())
    }
}

/// The live session of a session token (401 when unknown, revoked or expired).
pub(crate) async fn token_session(state: &AppState, token: &str) -> Result<Session, ServerError> {
    let session = state
        .store
        .find_session(&token_digest(token))
        .await?
        .ok_or_else(|| ServerError::Unauthorized("Invalid or revoked session token.".to_owned()))?;
    if session.expires_at_ms <= state.clock.now_ms() {
        return Err(ServerError::Unauthorized(format!(
            "The session token expired at midnight starting {}.",
            session.expiration_date
        )));
    }
    Ok(session)
}

const EXPECTED_FORMAT: &str = "The expected format is base64encoded(<<companyId>>:<<sessionToken>>), with companyId 0 for the token owner's company.";

impl Caller {
    /// A caller authenticated by the dashboard (its own sign-in).
    pub(crate) fn from_dashboard(session: Session, parts: &Parts) -> Self {
        Self {
            session,
            request_id: parts.extensions.get::<RequestId>().cloned(),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;

    /// Basic authentication with a session token; on `/_emulator/` routes,
    /// also the dashboard's cookie (then only from the server's own pages
    /// for anything but reads).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((username, token)) = basic_credentials(parts) else {
            if parts.uri.path().starts_with("/_emulator/") {
                if let Some(session) = dashboard::find(parts, state).await? {
                    dashboard::require_same_origin(parts)?;
                    return Ok(Self::from_dashboard(session, parts));
                }
            }
            return Err(ServerError::Unauthorized(format!(
                "Missing or malformed Basic authorization header. {EXPECTED_FORMAT}"
            )));
        };
        let session = token_session(state, &token).await?;
        let own_company =
            username.is_empty() || username == "0" || username == session.company.id.to_string();
        if !own_company {
            return Err(ServerError::Unauthorized(format!(
                "Authorization header has invalid username: {username}. Should be a customer id or 0 for default. {EXPECTED_FORMAT}"
            )));
        }
        let request_id = parts.extensions.get::<RequestId>().cloned();
        Ok(Self {
            session,
            request_id,
        })
    }
}
