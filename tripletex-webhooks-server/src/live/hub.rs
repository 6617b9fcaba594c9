//! The hub: event ids, the recent events, the channel, and who listens.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tripletex_webhooks_types::emulator::{Lagged, StreamEvent, SubscriptionChange};
use tripletex_webhooks_types::{Subscription, SubscriptionStatus};

use super::listener::{LingerGuard, Listener};
use super::publisher::RecordedAttempt;
use super::{CHANNEL, LINGER, RECENT};

/// One event as published.
#[derive(Debug)]
pub(crate) struct Published {
    /// Its id (the SSE `id:`), `None` for a listener's own lag notice.
    pub(crate) id: Option<u64>,
    /// The company it belongs to, `None` for every company (lag notices).
    pub(crate) company_id: Option<i64>,
    /// The event.
    pub(crate) event: StreamEvent,
}

impl Published {
    /// Whether a listener of `company_id` sees it.
    pub(crate) fn is_for(&self, company_id: i64) -> bool {
        self.company_id.is_none_or(|company| company == company_id)
    }
}

/// The stream's hub; cheap to clone.
#[derive(Clone)]
pub(crate) struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Arc<Published>>,
    recent: Mutex<Recent>,
    /// Until when events are still built after the last listener left.
    linger_until: Mutex<Option<Instant>>,
    /// Set when the server stops: listeners end.
    closed: watch::Sender<bool>,
    /// The last status announced per subscription.
    statuses: Mutex<HashMap<i64, SubscriptionStatus>>,
    /// Recorded attempts, to the publisher (set when it starts).
    work: OnceLock<mpsc::Sender<Vec<RecordedAttempt>>>,
}

/// The ids and the events kept for listeners that resume.
struct Recent {
    /// The id the next event gets.
    next_id: u64,
    /// The id the first event of this process got.
    first_id: u64,
    events: VecDeque<Arc<Published>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("listeners", &self.inner.sender.receiver_count())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    /// A hub whose first event gets id `first_id` (give each process a
    /// different range, such as real time in µs, so that an id of an earlier
    /// process is never mistaken for one of this).
    pub(crate) fn new(first_id: u64) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL);
        Self {
            inner: Arc::new(Inner {
                sender,
                recent: Mutex::new(Recent {
                    next_id: first_id,
                    first_id,
                    events: VecDeque::with_capacity(RECENT),
                }),
                linger_until: Mutex::new(None),
                closed: watch::channel(false).0,
                statuses: Mutex::new(HashMap::new()),
                work: OnceLock::new(),
            }),
        }
    }

    /// Whether anyone listens, or left less than [`LINGER`] ago: publishers
    /// build nothing otherwise.
    pub(crate) fn is_listening(&self) -> bool {
        self.inner.sender.receiver_count() > 0
            || lock(&self.inner.linger_until).is_some_and(|until| Instant::now() < until)
    }

    /// Publishes an event (with the next id) to the listeners of `company_id`
    /// (`None`: to all).
    pub(crate) fn publish(&self, company_id: Option<i64>, event: StreamEvent) {
        let mut recent = lock(&self.inner.recent);
        let id = recent.next_id;
        recent.next_id += 1;
        let published = Arc::new(Published {
            id: Some(id),
            company_id,
            event,
        });
        if recent.events.len() == RECENT {
            recent.events.pop_front();
        }
        recent.events.push_back(Arc::clone(&published));
        // Sent under the lock: a listener subscribing meanwhile either finds
        // the event among the recent ones or receives it, never both.
        let _ = self.inner.sender.send(published);
    }

    /// A listener of `company_id`'s events, replaying the recent ones after
    /// id `after` first (when it resumes).
    pub(crate) fn subscribe(&self, company_id: i64, after: Option<u64>) -> Listener {
        let was_silent = !self.is_listening();
        let recent = lock(&self.inner.recent);
        let receiver = self.inner.sender.subscribe();
        let mut backlog = VecDeque::new();
        if let Some(after) = after {
            let oldest = recent
                .events
                .front()
                .and_then(|p| p.id)
                .unwrap_or(recent.next_id);
            let skipped = if was_silent {
                // Nothing was built while nobody listened: whatever happened
                // then is unknown.
                Some(None)
            } else if after < recent.first_id {
                Some(None)
            } else if after + 1 < oldest {
                Some(Some(oldest - after - 1))
            } else {
                None
            };
            if let Some(skipped) = skipped {
                backlog.push_back(Arc::new(Published {
                    id: None,
                    company_id: None,
                    event: StreamEvent::Lagged(Lagged { skipped }),
                }));
            }
            backlog.extend(
                recent
                    .events
                    .iter()
                    .filter(|p| p.id.is_some_and(|id| id > after) && p.is_for(company_id))
                    .cloned(),
            );
        }
        drop(recent);
        Listener::new(
            company_id,
            backlog,
            receiver,
            self.inner.closed.subscribe(),
            LingerGuard::new(self.clone()),
        )
    }

    /// Marks that a listener left: events go on being built for [`LINGER`].
    pub(crate) fn listener_left(&self) {
        *lock(&self.inner.linger_until) = Some(Instant::now() + LINGER);
    }

    /// Ends every listener (the server stops).
    pub(crate) fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Hands attempts that were just recorded to the publisher. Never waits:
    /// when it is that far behind, listeners are told they lagged.
    pub(crate) fn attempts_recorded(&self, attempts: Vec<RecordedAttempt>) {
        if attempts.is_empty() {
            return;
        }
        let Some(work) = self.inner.work.get() else {
            return;
        };
        if let Err(error) = work.try_send(attempts) {
            let skipped = match &error {
                mpsc::error::TrySendError::Full(batch)
                | mpsc::error::TrySendError::Closed(batch) => batch.len() as u64,
            };
            self.publish(
                None,
                StreamEvent::Lagged(Lagged {
                    skipped: Some(skipped),
                }),
            );
        }
    }

    /// Where the publisher takes its work from (once).
    pub(crate) fn set_work(&self, work: mpsc::Sender<Vec<RecordedAttempt>>) {
        let _ = self.inner.work.set(work);
    }

    /// Announces a subscription's status if it changed: from `previous`, or,
    /// when that is not known, from the last status announced (ACTIVE when
    /// none was: only active subscriptions are delivered to).
    pub(crate) fn status_seen(
        &self,
        company_id: i64,
        subscription: Subscription,
        previous: Option<SubscriptionStatus>,
    ) {
        let (Some(id), Some(current)) = (subscription.id, subscription.status.clone()) else {
            return;
        };
        let announced = lock(&self.inner.statuses).insert(id, current.clone());
        let previous = previous.or(announced).unwrap_or(SubscriptionStatus::Active);
        if previous != current {
            self.publish(
                Some(company_id),
                StreamEvent::Subscription(Box::new(SubscriptionChange {
                    subscription,
                    previous_status: previous,
                })),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> StreamEvent {
        StreamEvent::Unknown {
            event: "test".to_owned(),
            data: n.to_string(),
        }
    }

    async fn next_data(listener: &mut Listener) -> (Option<u64>, StreamEvent) {
        let published = listener.next().await.unwrap();
        (published.id, published.event.clone())
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_how_many_it_missed() {
        let live = Live::new(1);
        let mut listener = live.subscribe(7, None);
        for n in 0..CHANNEL + 10 {
            live.publish(Some(7), event(n));
        }
        let (id, lagged) = next_data(&mut listener).await;
        assert_eq!(id, None);
        assert_eq!(lagged, StreamEvent::Lagged(Lagged { skipped: Some(10) }));
        assert_eq!(
            next_data(&mut listener).await.1,
            event(10),
            "then it goes on"
        );
    }

    #[tokio::test]
    async fn a_resume_replays_the_recent_events_of_its_company_only() {
        let live = Live::new(100);
        let _listening = live.subscribe(7, None);
        live.publish(Some(7), event(0));
        live.publish(Some(8), event(1));
        live.publish(Some(7), event(2));
        live.publish(None, StreamEvent::Lagged(Lagged { skipped: Some(1) }));

        let mut resumed = live.subscribe(7, Some(100));
        assert_eq!(next_data(&mut resumed).await, (Some(102), event(2)));
        assert_eq!(next_data(&mut resumed).await.0, Some(103));
        live.publish(Some(7), event(4));
        assert_eq!(next_data(&mut resumed).await, (Some(104), event(4)));
    }

    #[tokio::test]
    async fn a_resume_from_before_the_recent_events_is_told_it_lagged() {
        let live = Live::new(1);
        let _listening = live.subscribe(7, None);
        for n in 0..RECENT + 5 {
            live.publish(Some(7), event(n));
        }
        let mut resumed = live.subscribe(7, Some(1));
        assert_eq!(
            next_data(&mut resumed).await.1,
            StreamEvent::Lagged(Lagged { skipped: Some(4) })
        );
        assert_eq!(next_data(&mut resumed).await.0, Some(6));
    }

    #[tokio::test(start_paused = true)]
    async fn events_are_built_while_anyone_listens_and_a_while_after() {
        let live = Live::new(1);
        assert!(!live.is_listening());
        let listener = live.subscribe(7, None);
        assert!(live.is_listening());
        drop(listener);
        assert!(live.is_listening(), "a reconnecting listener resumes");
        tokio::time::advance(LINGER).await;
        assert!(!live.is_listening());
        // Whatever happened meanwhile was never built: a resume lags.
        let mut resumed = live.subscribe(7, Some(0));
        assert_eq!(
            next_data(&mut resumed).await.1,
            StreamEvent::Lagged(Lagged { skipped: None })
        );
    }

    #[tokio::test]
    async fn listeners_end_when_the_server_stops() {
        let live = Live::new(1);
        let mut listener = live.subscribe(7, None);
        live.close();
        assert!(listener.next().await.is_none());
    }
}
