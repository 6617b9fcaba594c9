//! The emulator API (`/_emulator`), for tests: emit any catalogue event, move
//! the server clock, read the delivery log, redeliver, and reset a company.
//! It uses the same Basic authentication as the API; `--no-emulator-api` turns it off.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tripletex_webhooks_types::emulator::{
    AdvanceRequest, DeliveryRecord, EmitRequest, Emitted, EmulatorClock,
};
use tripletex_webhooks_types::{EventType, ListResponse, ValueResponse};

use crate::domain::catalog::is_catalogued;
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::store::WriteContext;
use crate::store::outbox::DeliveryFilter;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/events", post(emit))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/deliveries/{id}", get(delivery))
        .route("/_emulator/deliveries/{id}/redeliver", post(redeliver))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/stream", get(super::stream::stream))
}

/// `POST /_emulator/events` (also the dashboard's Trigger form).
pub(crate) async fn emit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<EmitRequest>,
) -> Result<(StatusCode, Json<ValueResponse<Emitted>>), ServerError> {
    let event: EventType =
        request
            .event
            .parse()
            .map_err(|e: tripletex_webhooks_types::ParseEventTypeError| {
                ServerError::invalid("event", e.to_string())
            })?;
    if !is_catalogued(&event) {
        return Err(ServerError::invalid(
            "event",
            format!("'{event}' is not an event of the catalogue (GET /v2/event)."),
        ));
    }
    let value = match (&request.value, event.is_delete()) {
        (Value::Null, true) => None,
        (Value::Object(_), false) => Some(&request.value),
        (_, true) => {
            return Err(ServerError::invalid(
                "value",
                "a delete event carries no value (null)",
            ));
        }
        (_, false) => {
            return Err(ServerError::invalid(
                "value",
                "this event needs the object as `value`",
            ));
        }
    };
    let ctx = WriteContext {
        company: caller.company(),
        now_ms: state.clock.now_ms(),
        request_id: caller.request_id(),
    };
    let emits = std::slice::from_ref(&event);
    let queued = state
        .store
        .emit_event(ctx, emits, request.id, value)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ValueResponse::new(Emitted {
            event: event.to_string(),
            id: request.id,
            deliveries: queued,
        })),
    ))
}

fn clock_value(state: &AppState) -> ValueResponse<EmulatorClock> {
    let now = state.clock.now();
    ValueResponse::new(EmulatorClock {
        now: now.format(&Rfc3339).unwrap_or_default(),
        now_ms: state.clock.now_ms(),
        offset_ms: state.clock.offset_ms(),
    })
}

async fn clock(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<ValueResponse<EmulatorClock>> {
    Json(clock_value(&state))
}

/// `POST /_emulator/clock/advance` (also the dashboard's Clock form).
pub(crate) async fn advance(
    State(state): State<AppState>,
    _caller: Caller,
    ApiJson(request): ApiJson<AdvanceRequest>,
) -> Result<Json<ValueResponse<EmulatorClock>>, ServerError> {
    if !request.seconds.is_finite() || request.seconds < 0.0 || request.seconds > 3.2e9 {
        return Err(ServerError::invalid(
            "seconds",
            "must be a number of seconds between 0 and 100 years",
        ));
    }
    state
        .clock
        .advance(Duration::from_secs_f64(request.seconds));
    state
        .store
        .save_clock_offset(state.clock.offset_ms())
        .await?;
    Ok(Json(clock_value(&state)))
}

async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> Result<Json<ListResponse<DeliveryRecord>>, ServerError> {
    let (from, count) = query.paging()?;
    let filter = delivery_filter(&query)?;
    let page = state
        .outbox
        .deliveries(caller.company().id, &filter, from, count)
        .await?;
    Ok(Json(ListResponse::page(page.values, from, page.total)))
}

async fn delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ValueResponse<DeliveryRecord>>, ServerError> {
    state
        .outbox
        .delivery(caller.company().id, id)
        .await?
        .map(|record| Json(ValueResponse::new(record)))
        .ok_or_else(|| ServerError::NotFound(format!("No delivery {id}.")))
}

/// The delivery log's filter: `subscriptionId`, `event`, `objectId`,
/// `status`, `createdFrom` (inclusive) and `createdTo` (exclusive) as ms
/// since the epoch or RFC 3339 times on the server clock, and `sorting`:
/// `-id` (the default, newest first) or `id`.
pub(crate) fn delivery_filter(query: &QueryParams) -> Result<DeliveryFilter, ServerError> {
    let event = present(query, "event")
        .map(|raw| {
            raw.parse::<EventType>()
                .map(|event| event.to_string())
                .map_err(|e| ServerError::Param(format!("'event': {e}")))
        })
        .transpose()?;
    let status = present(query, "status").map(str::to_owned);
    if let Some(status) = &status {
        if !["pending", "delivered", "failed", "superseded"].contains(&status.as_str()) {
            return Err(ServerError::Param(format!(
                "'status' must be pending, delivered, failed or superseded, not '{status}'."
            )));
        }
    }
    let oldest_first = match present(query, "sorting") {
        None | Some("-id") => false,
        Some("id") => true,
        Some(other) => {
            return Err(ServerError::Param(format!(
                "'sorting' must be id or -id, not '{other}'."
            )));
        }
    };
    Ok(DeliveryFilter {
        subscription_id: integer(query, "subscriptionId")?,
        event,
        object_id: integer(query, "objectId")?,
        status,
        created_from_ms: time_ms(query, "createdFrom")?,
        created_to_ms: time_ms(query, "createdTo")?,
        oldest_first,
    })
}

/// A query parameter, unless absent or empty.
fn present<'a>(query: &'a QueryParams, name: &str) -> Option<&'a str> {
    query.get(name).filter(|v| !v.is_empty())
}

fn integer(query: &QueryParams, name: &str) -> Result<Option<i64>, ServerError> {
    present(query, name)
        .map(|raw| {
            raw.parse().map_err(|_| {
                ServerError::Param(format!("'{name}' must be an integer, not '{raw}'."))
            })
        })
        .transpose()
}

/// A time as ms since the epoch, or as an RFC 3339 time.
fn time_ms(query: &QueryParams, name: &str) -> Result<Option<i64>, ServerError> {
    present(query, name)
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .or_else(|| {
                    let at = OffsetDateTime::parse(raw, &Rfc3339).ok()?;
                    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
                })
                .ok_or_else(|| {
                    ServerError::Param(format!(
                        "'{name}' must be ms since the epoch or an RFC 3339 time, not '{raw}'."
                    ))
                })
        })
        .transpose()
}

/// `POST /_emulator/deliveries/{id}/redeliver` (also the dashboard's Redeliver button).
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ServerError> {
    if state
        .outbox
        .redeliver(caller.company().id, id, state.clock.now_ms())
        .await?
    {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ServerError::NotFound(format!(
            "No delivery {id} that can be sent again."
        )))
    }
}

async fn reset(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ServerError> {
    state.store.reset_company(caller.company().id).await?;
    Ok(StatusCode::NO_CONTENT)
}
