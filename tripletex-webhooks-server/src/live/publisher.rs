//! The publisher: turns recorded attempts into stream events, off the
//! dispatcher's path. Each message is read back from the delivery log, so the
//! event shows it as the log does after the attempt; a failure that may have
//! ended a streak reads its subscription's status.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tripletex_webhooks_types::SubscriptionStatus;
use tripletex_webhooks_types::emulator::{AttemptEvent, StreamAttempt, StreamEvent};

use super::BACKLOG;
use super::hub::Live;
use crate::http::api::subscriptions::subscription_of;
use crate::store::{Outbox, Store};

/// One attempt as recorded, for the stream.
#[derive(Debug, Clone)]
pub(crate) struct RecordedAttempt {
    /// The message's company.
    pub(crate) company_id: i64,
    /// The message.
    pub(crate) message_id: i64,
    /// Its subscription.
    pub(crate) subscription_id: i64,
    /// Whether the attempt failed (the subscription's streak goes on).
    pub(crate) failed: bool,
    /// The attempt.
    pub(crate) attempt: StreamAttempt,
}

/// What the publisher reads.
pub(crate) struct Sources {
    /// Subscriptions.
    pub(crate) store: Arc<dyn Store>,
    /// The delivery log.
    pub(crate) outbox: Arc<dyn Outbox>,
    /// The base of `url` fields.
    pub(crate) url_base: String,
}

/// Starts the publisher of `live` (the server aborts it when it stops).
pub(crate) fn spawn(live: &Live, sources: Sources) -> JoinHandle<()> {
    let (work, mut received) = mpsc::channel::<Vec<RecordedAttempt>>(BACKLOG);
    live.set_work(work);
    let live = live.clone();
    tokio::spawn(async move {
        while let Some(batch) = received.recv().await {
            publish(&live, &sources, batch).await;
        }
    })
}

async fn publish(live: &Live, sources: &Sources, batch: Vec<RecordedAttempt>) {
    let mut failing = BTreeSet::new();
    for recorded in batch {
        if recorded.failed {
            failing.insert((recorded.company_id, recorded.subscription_id));
        }
        match sources
            .outbox
            .delivery(recorded.company_id, recorded.message_id)
            .await
        {
            Ok(Some(mut record)) => {
                for attempt in &mut record.attempt_log {
                    attempt.exchange = None;
                }
                live.publish(
                    Some(recorded.company_id),
                    StreamEvent::Attempt(Box::new(AttemptEvent {
                        delivery: record,
                        attempt: recorded.attempt,
                    })),
                );
            }
            // Reset or deleted by retention meanwhile.
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "reading an attempt for the live stream failed"),
        }
    }
    for (company_id, subscription_id) in failing {
        match sources
            .store
            .get_subscription(company_id, subscription_id)
            .await
        {
            Ok(Some(record)) if record.status == SubscriptionStatus::DisabledTooManyErrors => {
                live.status_seen(
                    company_id,
                    subscription_of(&record, &sources.url_base),
                    None,
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "reading a subscription for the live stream failed");
            }
        }
    }
}
