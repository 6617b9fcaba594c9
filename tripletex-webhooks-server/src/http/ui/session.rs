//! The dashboard's sign-in: an `HttpOnly`, `SameSite=Strict` cookie naming a
//! server-side session.
//!
//! The cookie's value is a fresh random id, never the session token or the
//! credentials a person signed in with. It is kept in the sessions table
//! under a digest of its own kind (`dashboard:` + the id), so it survives a
//! restart and works on every server process sharing a database, but sent
//! as a Basic-auth token it authenticates nothing. Signing out deletes it.
//!
//! Forms and emulator API calls authenticated by the cookie are refused
//! unless their `Origin` is the server itself (with `SameSite=Strict`, the
//! protection against cross-site request forgery).

use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use time::{Date, OffsetDateTime, Time};

use crate::digest::token_digest;
use crate::http::error::ServerError;
use crate::http::state::AppState;
use crate::store::{Company, Session};

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "tlx_dashboard";

/// The path the cookie is sent to: the dashboard and the emulator API it calls.
const COOKIE_PATH: &str = "/_emulator";

/// How long a dashboard session signed in with credentials lasts, in days of
/// server time (one signed in with a session token ends with that token).
const SESSION_DAYS: i64 = 7;

/// A dashboard session's id: the cookie's value.
pub(crate) struct SessionId(SecretString);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

impl SessionId {
    /// A new random id (two v4 UUIDs: 244 random bits).
    fn generate() -> Self {
        Self(SecretString::from(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )))
    }

    /// The digest it is stored under; never that of a session token.
    fn digest(&self) -> String {
        token_digest(&format!("dashboard:{}", self.0.expose_secret()))
    }

    /// The `Set-Cookie` value that signs a browser in.
    pub(crate) fn set_cookie(&self) -> HeaderValue {
        cookie_header(&format!("{COOKIE_NAME}={}", self.0.expose_secret()))
    }
}

/// The `Set-Cookie` value that signs a browser out.
pub(crate) fn clear_cookie() -> HeaderValue {
    cookie_header(&format!("{COOKIE_NAME}=; Max-Age=0"))
}

fn cookie_header(cookie: &str) -> HeaderValue {
    HeaderValue::try_from(format!(
        "{cookie}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tlx_dashboard=; Max-Age=0"))
}

/// The cookie's value in a request, if it has one.
fn cookie(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| SessionId(SecretString::from(value.to_owned())))
}

/// Opens a dashboard session for `company`, ending no later than
/// `until` (a session token's own end) and at most [`SESSION_DAYS`] from now.
pub(crate) async fn open(
    state: &AppState,
    company: Company,
    until: Option<(Date, i64)>,
) -> Result<SessionId, ServerError> {
    let date = state.clock.now().date() + time::Duration::days(SESSION_DAYS);
    let ends_ms = midnight_ms(date);
    let (date, ends_ms) = match until {
        Some((until_date, until_ms)) if until_ms < ends_ms => (until_date, until_ms),
        _ => (date, ends_ms),
    };
    let id = SessionId::generate();
    state
        .store
        .create_session(&id.digest(), company, date, ends_ms)
        .await?;
    Ok(id)
}

fn midnight_ms(date: Date) -> i64 {
    let at = OffsetDateTime::new_utc(date, Time::MIDNIGHT);
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The live dashboard session a request's cookie names, if any.
pub(crate) async fn find(parts: &Parts, state: &AppState) -> Result<Option<Session>, ServerError> {
    let Some(id) = cookie(&parts.headers) else {
        return Ok(None);
    };
    let session = state.store.find_session(&id.digest()).await?;
    Ok(session.filter(|session| session.expires_at_ms > state.clock.now_ms()))
}

/// Ends the dashboard session a request's cookie names.
pub(crate) async fn close(headers: &HeaderMap, state: &AppState) -> Result<(), ServerError> {
    if let Some(id) = cookie(headers) {
        state.store.delete_session(&id.digest()).await?;
    }
    Ok(())
}

/// Refuses a request that changes something unless it comes from a page of
/// this server: its `Origin` must name the host it was sent to.
pub(crate) fn require_same_origin(parts: &Parts) -> Result<(), ServerError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            parts
                .uri
                .authority()
                .map(axum::http::uri::Authority::as_str)
        });
    let origin = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    if same_origin(origin, host) {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "A dashboard form or call must come from a page of this server (its Origin header \
             must name this host)."
                .to_owned(),
        ))
    }
}

/// Whether `origin` (`scheme://host[:port]`) names `host` (`host[:port]`).
fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_servers_own_origin_is_the_same_origin() {
        let host = Some("127.0.0.1:8080");
        assert!(same_origin(Some("http://127.0.0.1:8080"), host));
        assert!(same_origin(Some("https://127.0.0.1:8080"), host));
        for other in [
            None,
            Some("null"),
            Some("http://127.0.0.1:8081"),
            Some("http://evil.example"),
            Some("http://127.0.0.1:8080.evil.example"),
            Some("ftp://127.0.0.1:8080"),
        ] {
            assert!(!same_origin(other, host), "{other:?}");
        }
        assert!(!same_origin(Some("http://127.0.0.1:8080"), None));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_never_in_debug_output() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; tlx_dashboard=abc123; b=2"),
        );
        let id = cookie(&headers);
        assert!(
            id.as_ref()
                .is_some_and(|id| id.0.expose_secret() == "abc123")
        );
        assert_eq!(format!("{id:?}"), "Some(SessionId(<redacted>))");
        headers.insert(COOKIE, HeaderValue::from_static("tlx_dashboard="));
        assert!(cookie(&headers).is_none());
    }

    #[test]
    fn a_cookie_digest_is_never_the_digest_of_its_value_as_a_token() {
        let id = SessionId::generate();
        assert_ne!(id.digest(), token_digest(id.0.expose_secret()));
        let set = id.set_cookie();
        let set = set.to_str().unwrap_or_default();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.contains("Path=/_emulator"));
    }
}
