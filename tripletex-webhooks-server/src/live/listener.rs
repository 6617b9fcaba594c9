//! One listener of the stream: what it replays, then what it receives.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tripletex_webhooks_types::emulator::{Lagged, StreamEvent};

use super::hub::{Live, Published};

/// Tells the hub when its listener is gone.
pub(crate) struct LingerGuard(Live);

impl LingerGuard {
    pub(super) fn new(live: Live) -> Self {
        Self(live)
    }
}

impl Drop for LingerGuard {
    fn drop(&mut self) {
        self.0.listener_left();
    }
}

/// The events one company's listener sees, in order.
pub(crate) struct Listener {
    company_id: i64,
    backlog: VecDeque<Arc<Published>>,
    receiver: broadcast::Receiver<Arc<Published>>,
    closed: watch::Receiver<bool>,
    _guard: LingerGuard,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("company_id", &self.company_id)
            .field("backlog", &self.backlog.len())
            .finish_non_exhaustive()
    }
}

impl Listener {
    pub(super) fn new(
        company_id: i64,
        backlog: VecDeque<Arc<Published>>,
        receiver: broadcast::Receiver<Arc<Published>>,
        closed: watch::Receiver<bool>,
        guard: LingerGuard,
    ) -> Self {
        Self {
            company_id,
            backlog,
            receiver,
            closed,
            _guard: guard,
        }
    }

    /// The next event, or `None` once the server stops.
    pub(crate) async fn next(&mut self) -> Option<Arc<Published>> {
        if let Some(published) = self.backlog.pop_front() {
            return Some(published);
        }
        loop {
            let received = tokio::select! {
                biased;
                _ = self.closed.wait_for(|closed| *closed) => return None,
                received = self.receiver.recv() => received,
            };
            match received {
                Ok(published) if published.is_for(self.company_id) => return Some(published),
                Ok(_) => {}
                Err(RecvError::Lagged(skipped)) => {
                    return Some(Arc::new(Published {
                        id: None,
                        company_id: None,
                        event: StreamEvent::Lagged(Lagged {
                            skipped: Some(skipped),
                        }),
                    }));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
