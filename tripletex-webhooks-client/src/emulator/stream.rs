//! [`EventStream`]: `GET /_emulator/stream`, typed.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use tripletex_webhooks_types::emulator::StreamEvent;

use super::sse::{SseEvent, SseParser};
use crate::error::{Error, Result};

/// The path of the stream, for errors.
pub(crate) const STREAM_PATH: &str = "/_emulator/stream";

/// One event of the stream with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamItem {
    /// The stream's last event id (SSE's: the latest `id:` so far, which
    /// lag notices do not change): resume after it with
    /// [`EmulatorClient::stream_after`](super::EmulatorClient::stream_after).
    pub id: Option<u64>,
    /// The event.
    pub event: StreamEvent,
}

/// The live stream of the caller's company: finished attempts, subscription
/// status changes and lag notices, in order. Ends when the server stops;
/// a broken connection or an undecodable event is an `Err` item, after which
/// it ends. Keep-alive comments are skipped.
pub struct EventStream {
    inner: BoxStream<'static, Result<StreamItem>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

struct State {
    response: Option<reqwest::Response>,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
}

impl EventStream {
    /// The events of an opened `text/event-stream` answer.
    pub(crate) fn new(response: reqwest::Response) -> Self {
        let state = State {
            response: Some(response),
            parser: SseParser::default(),
            ready: VecDeque::new(),
        };
        let inner = futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(event) = state.ready.pop_front() {
                    let item = decode(&event);
                    if item.is_err() {
                        state.response = None;
                    }
                    return Some((item, state));
                }
                let response = state.response.as_mut()?;
                match response.chunk().await {
                    Ok(Some(bytes)) => {
                        let events = state.parser.feed(&bytes);
                        state.ready.extend(events);
                    }
                    Ok(None) => return None,
                    Err(error) => {
                        state.response = None;
                        return Some((Err(Error::stream_failed(STREAM_PATH, error)), state));
                    }
                }
            }
        });
        Self {
            inner: Box::pin(inner),
        }
    }
}

fn decode(event: &SseEvent) -> Result<StreamItem> {
    let id = match event.id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => Some(
            id.parse::<u64>()
                .map_err(|error| Error::stream_decode(STREAM_PATH, id, error))?,
        ),
        None => None,
    };
    let event = StreamEvent::from_sse(&event.event, &event.data)
        .map_err(|error| Error::stream_decode(STREAM_PATH, &event.data, error))?;
    Ok(StreamItem { id, event })
}

impl Stream for EventStream {
    type Item = Result<StreamItem>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
