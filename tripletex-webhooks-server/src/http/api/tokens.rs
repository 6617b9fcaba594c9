//! `/token/session`: create, inspect (`>whoAmI`) and delete session tokens.
//!
//! axum reserves path segments starting with `:`, so `:create` and `>whoAmI`
//! arrive as a path parameter and are matched here.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use time::{Date, OffsetDateTime, Time};
use tripletex_webhooks_types::models::Ref;
use tripletex_webhooks_types::{LoggedInUserInfo, SessionToken, ValueResponse};

use crate::digest::token_digest;
use crate::domain::object::object_url;
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::QueryParams;
use crate::http::state::AppState;
use crate::store::Company;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/v2/token/session/{action}",
        put(put_action).get(get_action).delete(delete_session),
    )
}

async fn put_action(
    State(state): State<AppState>,
    Path(action): Path<String>,
    query: QueryParams,
) -> Result<Response, ServerError> {
    if action != ":create" {
        return Err(ServerError::NotFound(format!(
            "No action '{action}' on /token/session."
        )));
    }
    create_session(&state, &query)
        .await
        .map(IntoResponse::into_response)
}

async fn create_session(
    state: &AppState,
    query: &QueryParams,
) -> Result<Json<ValueResponse<SessionToken>>, ServerError> {
    let consumer_token = query.required("consumerToken")?;
    let employee_token = query.required("employeeToken")?;
    let expiration_date = parse_date(query.required("expirationDate")?)?;
    let Some(company) = company_of(state, consumer_token, employee_token) else {
        return Err(ServerError::Unauthorized(
            "Invalid consumer token or employee token.".to_owned(),
        ));
    };
    let today = state.clock.now().date();
    if expiration_date <= today {
        return Err(ServerError::invalid(
            "expirationDate",
            format!("The expiration date must be later than today ({today})."),
        ));
    }
    let expires_at = OffsetDateTime::new_utc(expiration_date, Time::MIDNIGHT);
    let expires_at_ms =
        i64::try_from(expires_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let token = SecretString::from(format!("tlx-{}", uuid::Uuid::new_v4()));
    let session = state
        .store
        .create_session(
            &token_digest(token.expose_secret()),
            company,
            expiration_date,
            expires_at_ms,
        )
        .await?;
    let base = &state.url_base;
    Ok(Json(ValueResponse::new(SessionToken {
        id: Some(session.id),
        version: Some(0),
        url: Some(object_url(base, "token/session", session.id)),
        consumer_token: Some(Ref::stub(1, object_url(base, "token/consumer", 1))),
        employee_token: Some(Ref::stub(
            company.id,
            object_url(base, "token/employee", company.id),
        )),
        expiration_date: Some(expiration_date.to_string()),
        token: Some(token),
        extra: serde_json::Map::new(),
    })))
}

/// The company of an employee token, when the consumer token is the
/// configured one (compared in constant time).
pub(crate) fn company_of(
    state: &AppState,
    consumer_token: &str,
    employee_token: &str,
) -> Option<Company> {
    let consumer_ok: bool = consumer_token
        .as_bytes()
        .ct_eq(state.consumer_token.expose_secret().as_bytes())
        .into();
    let company = state.companies.get(&token_digest(employee_token)).copied();
    company.filter(|_| consumer_ok)
}

fn parse_date(raw: &str) -> Result<Date, ServerError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, format).map_err(|_| {
        ServerError::invalid(
            "expirationDate",
            format!("'{raw}' is not a date of the form YYYY-MM-DD."),
        )
    })
}

async fn get_action(
    State(state): State<AppState>,
    Path(action): Path<String>,
    caller: Caller,
    query: QueryParams,
) -> Result<Response, ServerError> {
    if action != ">whoAmI" {
        return Err(ServerError::NotFound(format!(
            "No action '{action}' on /token/session."
        )));
    }
    let fields = query.fields()?;
    let company = caller.company();
    let base = &state.url_base;
    let info = LoggedInUserInfo {
        employee_id: Some(company.employee_id),
        actual_employee_id: Some(company.employee_id),
        employee: Some(Ref::stub(
            company.employee_id,
            object_url(base, "employee", company.employee_id),
        )),
        company_id: Some(company.id),
        company: Some(Ref::stub(
            company.id,
            object_url(base, "company", company.id),
        )),
        language: Some("NO".to_owned()),
        logged_in_with_connect: Some(false),
        employee_is_proxy: Some(false),
        extra: serde_json::Map::new(),
    };
    let value = serde_json::to_value(&info).unwrap_or_default();
    let value = if fields.is_empty() {
        value
    } else {
        fields.apply(&value)
    };
    Ok(Json(ValueResponse::new(value)).into_response())
}

async fn delete_session(
    State(state): State<AppState>,
    Path(token): Path<String>,
    caller: Caller,
) -> Result<StatusCode, ServerError> {
    let digest = token_digest(&token);
    // Only the caller's own company's sessions can be revoked.
    let session = state.store.find_session(&digest).await?;
    match session {
        Some(session) if session.company == caller.company() => {
            state.store.delete_session(&digest).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ServerError::NotFound("No such session token.".to_owned())),
    }
}
