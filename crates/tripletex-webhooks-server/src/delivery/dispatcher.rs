//! The dispatcher loop: claim, send, record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tripletex_webhooks_types::fields::FieldsFilter;

use super::DeliveryConfig;
use super::sender::{AttemptResult, Sender};
use crate::clock::Clock;
use crate::resources::shape;
use crate::store::Store;
use crate::store::outbox::{AttemptOutcome, ClaimedMessage, HealthPolicy, NextStep, Outbox};

/// Outcomes are written in batches of up to this many per transaction.
const RECORD_BATCH: usize = 512;
/// At most this many messages are claimed per transaction.
const CLAIM_BATCH: usize = 256;

/// Delivers due outbox messages until stopped.
pub struct Dispatcher {
    outbox: Arc<dyn Outbox>,
    /// For expanding references that a subscription's `fields` asks for.
    store: Arc<dyn Store>,
    url_base: String,
    clock: Clock,
    config: DeliveryConfig,
    sender: Sender,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A running dispatcher.
#[derive(Debug)]
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DispatcherHandle {
    /// Stops claiming, lets attempts in flight finish (or time out), records
    /// their outcomes, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Attempts in flight per target origin.
#[derive(Debug, Default)]
struct TargetLoad {
    in_flight: HashMap<String, usize>,
    /// The origin of each subscription seen, to skip saturated ones in claims.
    origins: HashMap<i64, String>,
}

impl Dispatcher {
    /// A dispatcher over `outbox`, woken by its enqueue notifications, the
    /// clock's jumps and its own completions.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        store: Arc<dyn Store>,
        url_base: String,
        clock: Clock,
        config: DeliveryConfig,
    ) -> Result<Self, reqwest::Error> {
        let sender = Sender::new(config.attempt_timeout, config.block_private_targets)?;
        let wake = outbox.enqueued();
        Ok(Self {
            outbox,
            store,
            url_base,
            clock,
            config,
            sender,
            wake,
        })
    }

    /// Starts the loop in the background.
    pub fn spawn(self) -> DispatcherHandle {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        DispatcherHandle { stop, task }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.config.max_in_flight));
        let load = Arc::new(Mutex::new(TargetLoad::default()));
        let (outcomes, receiver) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(Arc::clone(&this).record_outcomes(receiver));
        let mut clock_jumps = this.clock.changed();
        while !*stopped.borrow() {
            let claimed = this.claim(&permits, &load).await;
            let full_batch = claimed.len() == CLAIM_BATCH;
            for message in claimed {
                this.start_attempt(message, &permits, &load, &outcomes);
            }
            if full_batch {
                continue;
            }
            let wait = this.time_to_next_due().await;
            tokio::select! {
                () = this.wake.notified() => {}
                _ = clock_jumps.changed() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => {}
            }
        }
        // Wait for attempts in flight: each ends within the attempt timeout.
        let all = u32::try_from(this.config.max_in_flight).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(this.config.attempt_timeout * 2, permits.acquire_many(all)).await;
        drop(outcomes);
        let _ = recorder.await;
    }

    async fn claim(&self, permits: &Semaphore, load: &Mutex<TargetLoad>) -> Vec<ClaimedMessage> {
        let available = permits.available_permits().min(CLAIM_BATCH);
        if available == 0 {
            return Vec::new();
        }
        let skip = self.saturated_subscriptions(load);
        let lease_ms = i64::try_from(self.config.lease().as_millis()).unwrap_or(i64::MAX);
        match self
            .outbox
            .claim_due(self.clock.now_ms(), lease_ms, available, &skip)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "claiming due messages failed");
                Vec::new()
            }
        }
    }

    fn saturated_subscriptions(&self, load: &Mutex<TargetLoad>) -> Vec<i64> {
        let load = load.lock().unwrap_or_else(PoisonError::into_inner);
        load.origins
            .iter()
            .filter(|(_, origin)| {
                load.in_flight.get(*origin).copied().unwrap_or(0)
                    >= self.config.max_in_flight_per_target
            })
            .map(|(subscription, _)| *subscription)
            .collect()
    }

    /// How long to sleep when nothing wakes us: until the next due message, or
    /// the poll interval.
    async fn time_to_next_due(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.outbox.next_due_at().await {
            Ok(Some(due)) => {
                let wait = due - self.clock.now_ms();
                if wait > 0 {
                    Duration::from_millis(u64::try_from(wait).unwrap_or(u64::MAX)).min(poll)
                } else {
                    // Due but not claimable (a sibling in flight, a saturated
                    // target, no permits): a completion will wake us.
                    poll
                }
            }
            Ok(None) => poll,
            Err(error) => {
                tracing::error!(%error, "reading the next due time failed");
                poll
            }
        }
    }

    fn start_attempt(
        self: &Arc<Self>,
        message: ClaimedMessage,
        permits: &Arc<Semaphore>,
        load: &Arc<Mutex<TargetLoad>>,
        outcomes: &mpsc::UnboundedSender<AttemptOutcome>,
    ) {
        let origin = origin(&message.target_url);
        let saturated = {
            let mut load = load.lock().unwrap_or_else(PoisonError::into_inner);
            load.origins.insert(message.subscription_id, origin.clone());
            let count = load.in_flight.entry(origin.clone()).or_insert(0);
            let saturated = *count >= self.config.max_in_flight_per_target;
            if !saturated {
                *count += 1;
            }
            saturated
        };
        let attempted_at_ms = self.clock.now_ms();
        if saturated {
            // Claimed before we knew its target was busy: give it back, due now.
            let _ = outcomes.send(release(&message, attempted_at_ms));
            return;
        }
        let Ok(permit) = Arc::clone(permits).try_acquire_owned() else {
            let _ = outcomes.send(release(&message, attempted_at_ms));
            decrement(load, &origin);
            return;
        };
        let this = Arc::clone(self);
        let load = Arc::clone(load);
        let outcomes = outcomes.clone();
        tokio::spawn(async move {
            let result = this.attempt(&message).await;
            let outcome = this.outcome(&message, attempted_at_ms, &result);
            decrement(&load, &origin);
            drop(permit);
            let _ = outcomes.send(outcome);
        });
    }

    async fn attempt(&self, message: &ClaimedMessage) -> AttemptResult {
        let value = match self.render_payload(message).await {
            Ok(value) => value,
            Err(error) => return AttemptResult::not_sent(error),
        };
        match self.sender.prepare(message, value) {
            Ok(callback) => self.sender.send(callback).await,
            Err(error) => AttemptResult::not_sent(error),
        }
    }

    /// The `value` of the callback: the stored object shaped by the
    /// subscription's `fields` exactly as `GET` would, or `null` for deletes.
    async fn render_payload(&self, message: &ClaimedMessage) -> Result<Value, String> {
        let Some(payload) = &message.payload else {
            return Ok(Value::Null);
        };
        let object: Value = serde_json::from_str(payload)
            .map_err(|e| format!("stored payload is not JSON: {e}"))?;
        // Validated when the subscription was written; an unparsable filter
        // from an older version falls back to the default shape.
        let filter = message
            .fields
            .as_deref()
            .and_then(|f| FieldsFilter::parse(f).ok())
            .unwrap_or_default();
        shape(
            self.store.as_ref(),
            message.company_id,
            &self.url_base,
            message.event.subject(),
            &object,
            &filter,
        )
        .await
        .map_err(|e| format!("rendering the payload: {e}"))
    }

    fn outcome(
        &self,
        message: &ClaimedMessage,
        attempted_at_ms: i64,
        result: &AttemptResult,
    ) -> AttemptOutcome {
        let attempts_made = usize::try_from(message.attempts).unwrap_or(0) + 1;
        let next = if result.is_success() {
            NextStep::Delivered
        } else if let Some(delay) = result
            .retry_after
            .filter(|_| attempts_made < self.config.schedule.max_attempts())
        {
            NextStep::RetryAt(attempted_at_ms + millis(delay))
        } else {
            match self
                .config
                .schedule
                .delay_after(attempts_made, &message.idempotency_key)
            {
                Some(delay) => NextStep::RetryAt(attempted_at_ms + millis(delay)),
                None => NextStep::GiveUp,
            }
        };
        if let Some(error) = &result.error {
            tracing::info!(message = message.id, subscription = message.subscription_id, attempt = attempts_made, %error, "delivery attempt failed");
        }
        AttemptOutcome {
            message_id: message.id,
            subscription_id: message.subscription_id,
            attempted_at_ms,
            duration_ms: millis(result.duration),
            status_code: result.status,
            error: result.error.clone(),
            next,
        }
    }

    /// Writes outcomes in batches, then wakes the loop: a recorded outcome can
    /// make a sibling message claimable.
    async fn record_outcomes(
        self: Arc<Self>,
        mut receiver: mpsc::UnboundedReceiver<AttemptOutcome>,
    ) {
        let policy = HealthPolicy {
            disable_after_ms: millis(self.config.disable_after),
        };
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while receiver.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let mut delay = Duration::from_millis(50);
            while let Err(error) = self.outbox.record(&batch, policy).await {
                // Leases keep the messages safe meanwhile: at worst they are sent again.
                tracing::error!(%error, "recording delivery outcomes failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            batch.clear();
            self.wake.notify_one();
        }
    }
}

fn decrement(load: &Mutex<TargetLoad>, origin: &str) {
    let mut load = load.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(count) = load.in_flight.get_mut(origin) {
        *count = count.saturating_sub(1);
    }
}

fn release(message: &ClaimedMessage, now_ms: i64) -> AttemptOutcome {
    AttemptOutcome {
        message_id: message.id,
        subscription_id: message.subscription_id,
        attempted_at_ms: now_ms,
        duration_ms: 0,
        status_code: None,
        error: None,
        next: NextStep::Release,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `scheme://host:port`: what per-target limits count by.
fn origin(target_url: &str) -> String {
    url::Url::parse(target_url).map_or_else(
        |_| target_url.to_owned(),
        |url| url.origin().ascii_serialization(),
    )
}
