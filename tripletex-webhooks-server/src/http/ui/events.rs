//! The Events pages: the catalogue, and per event its example envelope and a
//! Trigger form prefilled with it (`POST /_emulator/events` underneath).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use tripletex_webhooks_types::EventType;

use crate::domain::catalog::{catalog, event_info};
use tripletex_webhooks_types::emulator::EmitRequest;

use crate::http::api::emulator::emit;
use crate::http::error::ServerError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::http::ui::HOME;
use crate::http::ui::auth::Viewer;
use crate::http::ui::form::Form;
use crate::http::ui::page::{Chrome, UiError, UiResult, html, ok, query, see_other};

/// One event of the catalogue.
struct EventRow {
    name: String,
    description: String,
    payload_model: String,
}

/// The catalogue.
#[derive(Template)]
#[template(path = "events.html")]
struct CataloguePage {
    chrome: Chrome,
    events: Vec<EventRow>,
}

/// `GET /_emulator/ui/events`.
pub(crate) async fn index(Viewer(_caller): Viewer) -> UiResult {
    let events = catalog()
        .events
        .iter()
        .map(|(event, description)| EventRow {
            name: event.to_string(),
            description: description.description.clone().unwrap_or_default(),
            payload_model: description.payload_model.clone().unwrap_or_default(),
        })
        .collect();
    ok(&CataloguePage {
        chrome: Chrome::new("events", "Events"),
        events,
    })
}

/// One event with its Trigger form.
#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    chrome: Chrome,
    name: String,
    description: String,
    envelope: String,
    id: String,
    value: String,
    problems: Vec<String>,
}

/// The catalogued event named `raw`, or 404.
fn catalogued(raw: &str) -> Result<EventType, ServerError> {
    raw.parse::<EventType>()
        .ok()
        .filter(|event| catalog().get(event).is_some())
        .ok_or_else(|| ServerError::NotFound(format!("No event '{raw}' in the catalogue.")))
}

fn event_page(
    state: &AppState,
    event: &EventType,
    entered: Option<(String, String)>,
    problems: Vec<String>,
) -> Result<EventPage, UiError> {
    let info = event_info(event, &state.url_base)
        .ok_or_else(|| ServerError::NotFound(format!("No event '{event}'.")))?;
    let example = info.examples.first();
    let (id, value) = entered.unwrap_or_else(|| {
        (
            example.map_or(1, |e| e.id).to_string(),
            example
                .and_then(|e| serde_json::to_string_pretty(&e.value).ok())
                .unwrap_or_else(|| "null".to_owned()),
        )
    });
    Ok(EventPage {
        chrome: Chrome::new("events", format!("Event {event}")),
        name: event.to_string(),
        description: info.description.unwrap_or_default(),
        envelope: example
            .and_then(|e| serde_json::to_string_pretty(e).ok())
            .unwrap_or_default(),
        id,
        value,
        problems,
    })
}

/// `GET /_emulator/ui/events/{event}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Viewer(_caller): Viewer,
    Path(raw): Path<String>,
) -> UiResult {
    let event = catalogued(&raw)?;
    ok(&event_page(&state, &event, None, Vec::new())?)
}

/// `POST /_emulator/ui/events/{event}`: the Trigger form.
pub(crate) async fn trigger(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    form: Form,
) -> UiResult {
    let event = catalogued(&raw)?;
    let entered = (form.get("id").to_owned(), form.raw("value").to_owned());
    let mut problems = Vec::new();
    let id = entered.0.parse::<i64>().ok();
    if id.is_none() {
        problems.push("id: must be a whole number.".to_owned());
    }
    let value = serde_json::from_str::<Value>(&entered.1)
        .map_err(|error| problems.push(format!("value: not JSON ({error}).")))
        .ok();
    if let (Some(id), Some(value)) = (id, value) {
        let request = EmitRequest {
            event: event.to_string(),
            id,
            value,
        };
        match emit(State(state.clone()), caller, ApiJson(request)).await {
            Ok(_) => {
                let name = event.to_string();
                return Ok(see_other(&format!(
                    "{HOME}{}",
                    query([("event", name.as_str()), ("notice", "triggered")])
                )));
            }
            Err(ServerError::Validation(messages)) => problems.extend(
                messages
                    .iter()
                    .filter_map(|m| m.message.clone())
                    .map(|m| format!("value: {m}")),
            ),
            Err(other) => return Err(UiError::Server(other)),
        }
    }
    let page = event_page(&state, &event, Some(entered), problems)?;
    html(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
