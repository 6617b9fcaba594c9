//! `/event`: the event catalogue (no authentication, as in Tripletex since
//! 2.56.4) and one event's details with an example delivery.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{EventType, ValueResponse};

use crate::domain::catalog::{catalog, event_info};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::QueryParams;
use crate::http::state::AppState;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/event", get(list_events))
        .route("/v2/event/{eventType}", get(describe_event))
}

/// `GET /event`: every event this server emits.
async fn list_events(query: QueryParams) -> Result<Json<ValueResponse<Value>>, ServerError> {
    let filter = query.fields()?;
    Ok(Json(ValueResponse::new(filtered(catalog(), &filter))))
}

/// `GET /event/{eventType}`: one event, with an example delivery.
async fn describe_event(
    State(state): State<AppState>,
    Path(event_type): Path<String>,
    _caller: Caller,
    query: QueryParams,
) -> Result<Json<ValueResponse<Value>>, ServerError> {
    let filter = query.fields()?;
    let unknown = || ServerError::NotFound(format!("No event type '{event_type}'."));
    let event: EventType = event_type.parse().map_err(|_| unknown())?;
    let info = event_info(&event, &state.url_base).ok_or_else(unknown)?;
    Ok(Json(ValueResponse::new(filtered(&info, &filter))))
}

/// The response value, shaped by `fields` when one is given.
fn filtered(value: &impl serde::Serialize, filter: &FieldsFilter) -> Value {
    // Cannot fail: these types have string keys and no custom serializers that error.
    let value = serde_json::to_value(value).unwrap_or_default();
    if filter.is_empty() {
        value
    } else {
        filter.apply(&value)
    }
}
