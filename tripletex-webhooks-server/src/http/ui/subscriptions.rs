//! The Subscriptions page: each subscription with its auth mechanism (never
//! the secret), status and failure streak; Re-enable and Disable; and a
//! create form. Changes go through the API's own handlers, so the page
//! validates exactly as `POST /event/subscription` does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use tripletex_webhooks_types::{ApiValidationMessage, EventType, SubscriptionStatus};

use crate::delivery::shown_target;
use crate::domain::catalog::catalog;
use crate::http::api::subscriptions::{create, update_one};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::http::ui::auth::Viewer;
use crate::http::ui::form::Form;
use crate::http::ui::page::{
    Choice, Chrome, UiError, UiResult, at, choices, html, query, see_other, span,
};
use crate::http::ui::{HOME, notice};
use crate::store::SubscriptionRecord;

/// One subscription as the page shows it.
struct Row {
    id: i64,
    event: String,
    target: String,
    fields: String,
    auth: String,
    status: String,
    active: bool,
    streak: String,
}

impl Row {
    fn of(record: &SubscriptionRecord, now_ms: i64) -> Self {
        let auth = match (&record.auth_header_name, &record.hmac_shared_secret) {
            (Some(name), Some(_)) => format!("header {name}, HMAC-SHA256 signature"),
            (Some(name), None) => format!("header {name}"),
            (None, Some(_)) => "HMAC-SHA256 signature".to_owned(),
            (None, None) => "none".to_owned(),
        };
        Self {
            id: record.id,
            event: record.event.to_string(),
            target: shown_target(&record.target_url),
            fields: record.fields.clone().unwrap_or_default(),
            auth,
            status: record.status.as_str().to_owned(),
            active: record.status == SubscriptionStatus::Active,
            streak: record
                .failing_since_ms
                .map(|since| {
                    format!(
                        "failing since {} ({})",
                        at(since),
                        span(now_ms.saturating_sub(since))
                    )
                })
                .unwrap_or_default(),
        }
    }
}

/// What the create form had, to show it again (never its secrets).
#[derive(Default)]
struct Draft {
    event: String,
    target_url: String,
    fields: String,
    auth_header_name: String,
}

/// The Subscriptions page.
#[derive(Template)]
#[template(path = "subscriptions.html")]
struct SubscriptionsPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    rows: Vec<Row>,
    events: Vec<Choice>,
    draft: Draft,
    problems: Vec<String>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    notice: Option<&'static str>,
    draft: Draft,
    problems: Vec<String>,
) -> Result<SubscriptionsPage, UiError> {
    let now_ms = state.clock.now_ms();
    let rows = state
        .store
        .list_subscriptions(caller.company().id)
        .await?
        .iter()
        .map(|record| Row::of(record, now_ms))
        .collect();
    Ok(SubscriptionsPage {
        chrome: Chrome::new("subscriptions", "Subscriptions"),
        notice,
        rows,
        events: choices(
            catalog()
                .events
                .keys()
                .map(EventType::to_string)
                .map(|e| (e.clone(), e)),
            &draft.event,
        ),
        draft,
        problems,
    })
}

/// `GET /_emulator/ui/subscriptions`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    query_params: QueryParams,
) -> UiResult {
    let page = page(
        &state,
        &caller,
        notice(&query_params),
        Draft::default(),
        Vec::new(),
    )
    .await?;
    html(StatusCode::OK, &page)
}

/// `POST /_emulator/ui/subscriptions`: the create form.
pub(crate) async fn add(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    form: Form,
) -> UiResult {
    let mut body = Map::new();
    for (field, name) in [
        ("event", "event"),
        ("targetUrl", "targetUrl"),
        ("fields", "fields"),
        ("authHeaderName", "authHeaderName"),
    ] {
        let value = form.get(name);
        if !value.is_empty() {
            body.insert(field.to_owned(), Value::String(value.to_owned()));
        }
    }
    for secret in ["authHeaderValue", "hmacSharedSecret"] {
        let value = form.raw(secret);
        if !value.is_empty() {
            body.insert(secret.to_owned(), Value::String(value.to_owned()));
        }
    }
    let created = create(
        State(state.clone()),
        caller.clone(),
        QueryParams::default(),
        ApiJson(Value::Object(body)),
    )
    .await;
    let problems = match created {
        Ok(_) => return Ok(see_other(&format!("{HOME}subscriptions?notice=created"))),
        Err(ServerError::Validation(messages)) => messages.iter().map(problem).collect(),
        Err(ServerError::Mapping(detail)) => vec![detail],
        Err(other) => return Err(UiError::Server(other)),
    };
    let draft = Draft {
        event: form.get("event").to_owned(),
        target_url: form.get("targetUrl").to_owned(),
        fields: form.get("fields").to_owned(),
        auth_header_name: form.get("authHeaderName").to_owned(),
    };
    let page = page(&state, &caller, None, draft, problems).await?;
    html(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// A validation message as a sentence naming its field.
fn problem(message: &ApiValidationMessage) -> String {
    match (&message.field, &message.message) {
        (Some(field), Some(text)) => format!("{field}: {text}"),
        (None, Some(text)) => text.clone(),
        (Some(field), None) => field.clone(),
        (None, None) => "Invalid.".to_owned(),
    }
}

/// `POST /_emulator/ui/subscriptions/{id}/status`: Re-enable (`ACTIVE`) or
/// Disable (`DISABLED`).
pub(crate) async fn set_status(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<i64>,
    form: Form,
) -> UiResult {
    let (status, notice) = match form.get("status") {
        "ACTIVE" => ("ACTIVE", "enabled"),
        "DISABLED" => ("DISABLED", "disabled"),
        _ => {
            return Err(UiError::Server(ServerError::invalid(
                "status",
                "Re-enable (ACTIVE) or Disable (DISABLED).",
            )));
        }
    };
    update_one(
        State(state),
        Path(id.to_string()),
        caller,
        QueryParams::default(),
        ApiJson(json!({ "status": status })),
    )
    .await?;
    Ok(see_other(&format!(
        "{HOME}subscriptions{}",
        query([("notice", notice)])
    )))
}
