//! The Clock page: the emulator's time, and a form to advance it by a
//! duration (`90s`, `5m`, `1h 30m`), which runs due retries at once.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use time::format_description::well_known::Rfc3339;

use tripletex_webhooks_types::emulator::AdvanceRequest;

use crate::http::api::emulator::advance;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::http::ui::auth::Viewer;
use crate::http::ui::form::Form;
use crate::http::ui::page::{Chrome, UiError, UiResult, html, see_other, span};
use crate::http::ui::{HOME, notice};

/// The Clock page.
#[derive(Template)]
#[template(path = "clock.html")]
struct ClockPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    now: String,
    ahead: String,
    by: String,
    problem: Option<String>,
}

fn page(
    state: &AppState,
    notice: Option<&'static str>,
    by: String,
    problem: Option<String>,
) -> ClockPage {
    ClockPage {
        chrome: Chrome::new("clock", "Clock"),
        notice,
        now: state.clock.now().format(&Rfc3339).unwrap_or_default(),
        ahead: span(state.clock.offset_ms()),
        by,
        problem,
    }
}

/// `GET /_emulator/ui/clock`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Viewer(_caller): Viewer,
    query_params: QueryParams,
) -> UiResult {
    html(
        StatusCode::OK,
        &page(&state, notice(&query_params), String::new(), None),
    )
}

/// `POST /_emulator/ui/clock`: advance by the duration given.
pub(crate) async fn move_on(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    form: Form,
) -> UiResult {
    let by = form.get("by").to_owned();
    let problem = match humantime::parse_duration(&by) {
        Ok(duration) => {
            let request = AdvanceRequest {
                seconds: duration.as_secs_f64(),
            };
            match advance(State(state.clone()), caller, ApiJson(request)).await {
                Ok(_) => return Ok(see_other(&format!("{HOME}clock?notice=advanced"))),
                Err(ServerError::Validation(_)) => {
                    "The clock moves forward by at most 100 years at a time.".to_owned()
                }
                Err(other) => return Err(UiError::Server(other)),
            }
        }
        Err(error) => format!("'{by}' is not a duration such as 90s, 5m or 1h 30m: {error}."),
    };
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        &page(&state, None, by, Some(problem)),
    )
}
