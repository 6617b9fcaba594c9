//! `GET /_emulator/stream`: the live stream of the caller's company as
//! Server-Sent Events (see [`crate::live`]).
//!
//! - `event: attempt`, `id: N`, `data: {"delivery": …, "attempt": …}` per
//!   finished attempt;
//! - `event: subscription`, `id: N`, `data: {"subscription": …,
//!   "previousStatus": …}` per status change;
//! - `event: lagged`, `data: {"skipped": N or null}` when events were missed;
//! - a keep-alive comment every 15 s.
//!
//! `Last-Event-ID` (as `EventSource` sends it on reconnecting) or `?after=N`
//! resumes after event `N`.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use futures::StreamExt as _;

use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::QueryParams;
use crate::http::state::AppState;
use crate::live::Published;

/// The header `EventSource` resumes with.
const LAST_EVENT_ID: &str = "last-event-id";

pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryParams,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ServerError> {
    let after = resume_after(&headers, &query)?;
    let listener = state.live.subscribe(caller.company().id, after);
    let events = futures::stream::unfold(listener, |mut listener| async move {
        let published = listener.next().await?;
        Some((published, listener))
    })
    .filter_map(|published| async move { sse_event(&published).map(Ok) });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The id to resume after: `?after=` wins over `Last-Event-ID`.
fn resume_after(headers: &HeaderMap, query: &QueryParams) -> Result<Option<u64>, ServerError> {
    let raw = query
        .get("after")
        .filter(|raw| !raw.is_empty())
        .map(|raw| ("after", raw.to_owned()))
        .or_else(|| {
            let header = headers.get(LAST_EVENT_ID)?.to_str().ok()?.trim();
            (!header.is_empty()).then(|| ("Last-Event-ID", header.to_owned()))
        });
    raw.map(|(name, raw)| {
        raw.parse::<u64>().map_err(|_| {
            ServerError::Param(format!(
                "'{name}' must be the id of a stream event, not '{raw}'."
            ))
        })
    })
    .transpose()
}

/// The SSE form of an event; `None` (left out) if it cannot be rendered.
fn sse_event(published: &Published) -> Option<Event> {
    let data = match published.event.data() {
        Ok(data) => data,
        Err(error) => {
            tracing::warn!(%error, "rendering a stream event failed");
            return None;
        }
    };
    let event = Event::default().event(published.event.name()).data(data);
    Some(match published.id {
        Some(id) => event.id(id.to_string()),
        None => event,
    })
}
