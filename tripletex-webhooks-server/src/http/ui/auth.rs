//! Signing in and out of the dashboard, and the extractor its pages take.
//!
//! A person signs in with a session token or with the consumer and employee
//! tokens (the same credentials as the API); the browser then holds only the
//! cookie of [`session`](super::session). With the built-in local
//! credentials (public anyway), a browser on loopback is signed in by itself.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, RequestPartsExt as _};

use crate::http::api::tokens::company_of;
use crate::http::auth::{Caller, token_session};
use crate::http::extract::QueryParams;
use crate::http::state::AppState;
use crate::http::ui::form::Form;
use crate::http::ui::page::{Chrome, UiResult, html, see_other};
use crate::http::ui::{HOME, session};

/// A signed-in person: what every dashboard page takes. Without a live
/// dashboard session the request is sent to the sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer(pub(crate) Caller);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session::find(parts, state).await {
            Ok(Some(found)) => Ok(Self(Caller::from_dashboard(found, parts))),
            Ok(None) => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map_or(HOME, |target| target.as_str());
                Err(see_other(&format!(
                    "{HOME}login{}",
                    crate::http::ui::page::query([("next", here)])
                )))
            }
            Err(error) => Err(error.into_response()),
        }
    }
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<&'static str>,
}

/// Where to go after signing in: a dashboard page, never elsewhere.
fn next_page(raw: &str) -> String {
    let safe = raw.starts_with(HOME) && !raw.contains("//") && !raw.contains('\\');
    if safe {
        raw.to_owned()
    } else {
        HOME.to_owned()
    }
}

fn login_page(status: StatusCode, next: String, error: Option<&'static str>) -> UiResult {
    let page = LoginPage {
        chrome: Chrome::new("login", "Sign in"),
        next,
        error,
    };
    html(status, &page)
}

/// `GET /_emulator/ui/login`: the form, or straight on when already signed
/// in (or signed in by itself on loopback with the local credentials).
pub(crate) async fn show(
    State(state): State<AppState>,
    mut parts: Parts,
    query: QueryParams,
) -> UiResult {
    let next = next_page(query.get("next").unwrap_or(HOME));
    if session::find(&parts, &state).await?.is_some() {
        return Ok(see_other(&next));
    }
    let peer = parts
        .extract::<Extension<ConnectInfo<SocketAddr>>>()
        .await
        .ok()
        .map(|Extension(ConnectInfo(peer))| peer);
    let loopback = peer.is_some_and(|peer| peer.ip().is_loopback());
    let only_company = match state.companies.values().collect::<Vec<_>>().as_slice() {
        [only] => Some(**only),
        _ => None,
    };
    if let (true, true, Some(company)) = (state.dashboard_auto_sign_in, loopback, only_company) {
        let id = session::open(&state, company, None).await?;
        return Ok(signed_in(&id, &next));
    }
    login_page(StatusCode::OK, next, None)
}

/// `POST /_emulator/ui/login`: a session token, or the consumer and employee tokens.
pub(crate) async fn sign_in(State(state): State<AppState>, form: Form) -> UiResult {
    let next = next_page(form.get("next"));
    let token = form.get("token");
    let signed = if token.is_empty() {
        company_of(&state, form.get("consumerToken"), form.get("employeeToken"))
            .map(|company| (company, None))
    } else {
        token_session(&state, token).await.ok().map(|found| {
            (
                found.company,
                Some((found.expiration_date, found.expires_at_ms)),
            )
        })
    };
    let Some((company, until)) = signed else {
        tracing::info!("dashboard sign-in refused");
        return login_page(
            StatusCode::UNAUTHORIZED,
            next,
            Some(
                "Those credentials were not accepted: give a live session token, or the consumer and employee tokens.",
            ),
        );
    };
    let id = session::open(&state, company, until).await?;
    tracing::info!(company_id = company.id, "signed in to the dashboard");
    Ok(signed_in(&id, &next))
}

fn signed_in(id: &session::SessionId, next: &str) -> Response {
    let mut response = see_other(next);
    response.headers_mut().insert(SET_COOKIE, id.set_cookie());
    response
}

/// `POST /_emulator/ui/logout`.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _form: Form,
) -> UiResult {
    session::close(&headers, &state).await?;
    let mut response = see_other(&format!("{HOME}login"));
    response
        .headers_mut()
        .insert(SET_COOKIE, session::clear_cookie());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_signing_in_only_dashboard_pages_are_next() {
        assert_eq!(
            next_page("/_emulator/ui/subscriptions"),
            "/_emulator/ui/subscriptions"
        );
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/_emulator/ui//evil.example",
            "/v2/product",
            "/_emulator/ui/\\evil",
            "",
        ] {
            assert_eq!(next_page(elsewhere), HOME, "{elsewhere}");
        }
    }
}
