//! The dispatcher loop: claim, send, record.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt as _;
use serde_json::Value;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;
use tripletex_webhooks_types::emulator::{Exchange, StreamAttempt};
use tripletex_webhooks_types::fields::FieldsFilter;

use super::DeliveryConfig;
use super::attempt_error::AttemptError;
use super::attempt_log::{log_attempt, outcome_name, shown_host};
use super::sender::{AttemptResult, Sender};
use crate::clock::Clock;
use crate::domain::resources::shape;
use crate::live::{Live, RecordedAttempt};
use crate::store::outbox::{
    AttemptOutcome, Claim, ClaimedMessage, HealthPolicy, NextStep, Outbox, target_key,
};
use crate::store::{Store, StoreResult};

/// Outcomes are written in batches of up to this many per transaction.
const RECORD_BATCH: usize = 512;
/// How long the first outcome of a batch waits for others to be recorded with.
const RECORD_LINGER: Duration = Duration::from_millis(5);

/// The longest pause between tries to record outcomes while the database is
/// away: once it is back, recording (and so delivery) resumes within this.
const RECORD_RETRY_MAX: Duration = Duration::from_secs(2);
/// How far, and how often, due messages of stalled targets are deferred (ms).
const DEFER_MS: i64 = 1_000;
/// A full lane that has finished no attempt for this long is stalled (its
/// target does not answer): its due messages are deferred, not walked past.
const STALLED_AFTER: Duration = Duration::from_secs(1);
/// At most this many due messages are looked at per claim.
const CANDIDATES: usize = 128;

/// Delivers due outbox messages until stopped.
pub(crate) struct Dispatcher {
    outbox: Arc<dyn Outbox>,
    /// For expanding references that a subscription's `fields` asks for.
    store: Arc<dyn Store>,
    url_base: String,
    clock: Clock,
    config: DeliveryConfig,
    sender: Sender,
    wake: Arc<Notify>,
    lanes: Mutex<Lanes>,
    /// When stalled targets' due messages were last deferred (ms, server clock).
    last_defer_ms: std::sync::atomic::AtomicI64,
    /// Where recorded attempts are streamed, when anyone listens.
    live: Live,
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
pub(crate) struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    status: DeliveryStatus,
}

impl DispatcherHandle {
    /// Stops claiming, lets attempts in flight finish (or time out), records
    /// their outcomes, and returns.
    pub(crate) async fn shutdown(self) {
        self.status.set(false);
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Whether it runs, readable after the handle is gone.
    pub(crate) fn status(&self) -> DeliveryStatus {
        self.status.clone()
    }
}

/// Whether the dispatcher loop runs: false once it was told to stop, and
/// once its task ended in any way (a panic included).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryStatus(Arc<AtomicBool>);

impl DeliveryStatus {
    /// Whether delivery runs.
    pub(crate) fn is_running(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, running: bool) {
        self.0.store(running, Ordering::Release);
    }
}

/// Marks the status stopped when the loop's task ends, however it ends.
struct StoppedOnDrop(DeliveryStatus);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Claimed messages per target: a lane sends at most `max_in_flight_per_target`
/// at once and keeps as many more queued, so it never waits for a claim
/// between attempts yet never holds a message longer than about one attempt
/// (well inside its lease).
#[derive(Debug, Default)]
struct Lanes {
    by_target: HashMap<String, Lane>,
    /// The target key of each subscription seen, to skip full lanes in claims.
    targets: HashMap<i64, String>,
    /// Messages claimed and not yet finished, in all lanes.
    held: usize,
    /// Attempts in flight, in all lanes (at most `max_in_flight`).
    in_flight: usize,
    /// Outcomes of finished attempts go here (set when the loop starts).
    outcomes: Option<mpsc::UnboundedSender<Finished>>,
}

/// An attempt's outcome and, for the live stream, whose it was.
type Finished = (AttemptOutcome, Option<Attempted>);

/// What the live stream needs of an attempt that the outcome does not carry.
#[derive(Debug, Clone, Copy)]
struct Attempted {
    company_id: i64,
    /// 1 for the first attempt.
    number: u32,
}

#[derive(Debug)]
struct Lane {
    in_flight: usize,
    queued: VecDeque<ClaimedMessage>,
    /// When an attempt of this lane last finished, or when it opened.
    progressed_at: tokio::time::Instant,
}

impl Lane {
    fn new() -> Self {
        Self {
            in_flight: 0,
            queued: VecDeque::new(),
            progressed_at: tokio::time::Instant::now(),
        }
    }

    fn held(&self) -> usize {
        self.in_flight + self.queued.len()
    }

    /// Whether the lane finished nothing for [`STALLED_AFTER`]: a full lane
    /// that drains is only skipped, a stalled one is deferred as well.
    fn is_stalled(&self) -> bool {
        self.progressed_at.elapsed() >= STALLED_AFTER
    }
}

impl Dispatcher {
    /// A dispatcher over `outbox`, woken by its enqueue notifications, the
    /// clock's jumps and its own completions; recorded attempts go to `live`.
    pub(crate) fn new(
        outbox: Arc<dyn Outbox>,
        store: Arc<dyn Store>,
        url_base: String,
        clock: Clock,
        config: DeliveryConfig,
        live: Live,
    ) -> Result<Self, reqwest::Error> {
        let sender = Sender::new(config.attempt_timeout, &config.targets)?;
        let wake = outbox.enqueued();
        Ok(Self {
            outbox,
            store,
            url_base,
            clock,
            config,
            sender,
            wake,
            lanes: Mutex::new(Lanes::default()),
            last_defer_ms: std::sync::atomic::AtomicI64::new(0),
            live,
        })
    }

    /// Starts the loop in the background.
    pub(crate) fn spawn(self) -> DispatcherHandle {
        let (stop, stopped) = watch::channel(false);
        let status = DeliveryStatus::default();
        status.set(true);
        let guard = StoppedOnDrop(status.clone());
        let task = tokio::spawn(async move {
            let _guard = guard;
            Arc::new(self).run(stopped).await;
        });
        DispatcherHandle { stop, task, status }
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let (outcomes, receiver) = mpsc::unbounded_channel();
        self.lanes().outcomes = Some(outcomes);
        let recorder = tokio::spawn(Arc::clone(&self).record_outcomes(receiver));
        let mut clock_jumps = self.clock.changed();
        while !*stopped.borrow() {
            // Armed before the claim: what is enqueued meanwhile wakes the
            // next round at once, without asking the writer for the next due time.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let (claimed, more) = self.claim().await;
            for message in claimed {
                self.enqueue(message);
            }
            if more || woken.as_mut().now_or_never().is_some() {
                continue;
            }
            let wait = self.time_to_next_due().await;
            tokio::select! {
                () = woken.as_mut() => {}
                _ = clock_jumps.changed() => {}
                () = tokio::time::sleep(wait) => {}
                // An error means the handle was dropped: stop as on shutdown.
                changed = stopped.changed() => if changed.is_err() { break },
            }
        }
        self.drain().await;
        // Dropping the last sender lets the recorder flush and finish.
        self.lanes().outcomes = None;
        let _ = recorder.await;
    }

    /// On shutdown: queued messages go back (due now); attempts in flight get
    /// up to twice the attempt timeout to finish and be recorded.
    async fn drain(&self) {
        let now = self.clock.now_ms();
        let released: Vec<AttemptOutcome> = {
            let mut lanes = self.lanes();
            let queued: Vec<ClaimedMessage> = lanes
                .by_target
                .values_mut()
                .flat_map(|l| l.queued.drain(..))
                .collect();
            lanes.held -= queued.len();
            queued.iter().map(|m| release(m, now)).collect()
        };
        if let Some(outcomes) = &self.lanes().outcomes {
            for outcome in released {
                let _ = outcomes.send((outcome, None));
            }
        }
        let deadline = tokio::time::Instant::now() + self.config.attempt_timeout * 2;
        while self.lanes().held > 0 && tokio::time::Instant::now() < deadline {
            let _ = tokio::time::timeout_at(deadline, self.wake.notified()).await;
        }
    }

    /// Claims what the lanes can take; also says whether more may be due
    /// right now (every candidate looked at, and room left).
    async fn claim(&self) -> (Vec<ClaimedMessage>, bool) {
        let per_lane = self.config.max_in_flight_per_target * 2;
        let (budget, skip, stalled, mut loads) = {
            let lanes = self.lanes();
            let budget = (self.config.max_in_flight * 2).saturating_sub(lanes.held);
            // Subscriptions whose lane is full, and whether it is stalled.
            let full: Vec<(i64, bool)> = lanes
                .targets
                .iter()
                .filter_map(|(subscription, key)| {
                    let lane = lanes.by_target.get(key).filter(|l| l.held() >= per_lane)?;
                    Some((*subscription, lane.is_stalled()))
                })
                .collect();
            let skip: Vec<i64> = full.iter().map(|(s, _)| *s).collect();
            let stalled: Vec<i64> = full.iter().filter(|(_, st)| *st).map(|(s, _)| *s).collect();
            let loads: HashMap<String, usize> = lanes
                .by_target
                .iter()
                .map(|(k, l)| (k.clone(), l.held()))
                .collect();
            (budget, skip, stalled, loads)
        };
        self.defer_stalled(&stalled).await;
        if budget == 0 {
            return (Vec::new(), false);
        }
        let mut taken = 0;
        let mut offered = 0;
        let mut accept = |key: &str| {
            offered += 1;
            let load = loads.entry(key.to_owned()).or_insert(0);
            let take = taken < budget && *load < per_lane;
            if take {
                *load += 1;
                taken += 1;
            }
            take
        };
        let lease_ms = millis(self.config.lease());
        let claim = Claim {
            now_ms: self.clock.now_ms(),
            lease_ms,
            candidates: CANDIDATES,
            skip_subscriptions: &skip,
            accept: &mut accept,
        };
        let claimed = match self.outbox.claim_due(claim).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "claiming due messages failed");
                return (Vec::new(), false);
            }
        };
        let more = offered == CANDIDATES && claimed.len() < budget;
        (claimed, more)
    }

    /// Due messages of stalled targets would sit at the front of every claim
    /// for as long as their target does not answer; once a second they are
    /// moved a second ahead instead. (A full lane that drains is not deferred:
    /// its messages are claimed as soon as it has room.)
    async fn defer_stalled(&self, stalled: &[i64]) {
        let now = self.clock.now_ms();
        if stalled.is_empty() || now - self.last_defer_ms.load(Ordering::Relaxed) < DEFER_MS {
            return;
        }
        self.last_defer_ms.store(now, Ordering::Relaxed);
        if let Err(error) = self.outbox.defer(stalled, now, now + DEFER_MS).await {
            tracing::warn!(%error, "deferring messages of stalled targets failed");
        }
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
                    // Due but not claimable (a sibling in flight, a full lane):
                    // a completion will wake us.
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

    /// Queues a claimed message in its lane and starts what the lane allows.
    fn enqueue(self: &Arc<Self>, message: ClaimedMessage) {
        let key = target_key(&message.target_url).to_owned();
        {
            let mut lanes = self.lanes();
            lanes.held += 1;
            lanes.targets.insert(message.subscription_id, key.clone());
            lanes
                .by_target
                .entry(key.clone())
                .or_insert_with(Lane::new)
                .queued
                .push_back(message);
        }
        self.pump(&key);
    }

    /// Starts queued messages of a lane while it has room.
    fn pump(self: &Arc<Self>, key: &str) {
        loop {
            let mut message = {
                let mut lanes = self.lanes();
                if lanes.in_flight >= self.config.max_in_flight {
                    return;
                }
                let Some(lane) = lanes.by_target.get_mut(key) else {
                    return;
                };
                if lane.in_flight >= self.config.max_in_flight_per_target {
                    return;
                }
                let Some(message) = lane.queued.pop_front() else {
                    return;
                };
                lane.in_flight += 1;
                lanes.in_flight += 1;
                message
            };
            let this = Arc::clone(self);
            let key = key.to_owned();
            let span = attempt_span(&message);
            tokio::spawn(
                async move {
                    let attempted_at_ms = this.clock.now_ms();
                    let payload = std::mem::replace(&mut message.payload, Ok(None));
                    let result = this.attempt(&message, payload).await;
                    let span = tracing::Span::current();
                    span.record("duration_ms", result.duration.as_millis());
                    if let Some(status) = result.status {
                        span.record("status", status);
                    }
                    let outcome = this.outcome(&message, attempted_at_ms, result);
                    let attempted = Attempted {
                        company_id: message.company_id,
                        number: u32::try_from(message.attempts).unwrap_or(0) + 1,
                    };
                    this.finish(&key, (outcome, Some(attempted)));
                }
                .instrument(span),
            );
        }
    }

    /// Frees the attempt's slot, hands its outcome to the recorder, and starts
    /// the next queued message of the lane.
    fn finish(self: &Arc<Self>, key: &str, outcome: Finished) {
        let waiting: Vec<String> = {
            let mut lanes = self.lanes();
            lanes.held = lanes.held.saturating_sub(1);
            lanes.in_flight = lanes.in_flight.saturating_sub(1);
            if let Some(lane) = lanes.by_target.get_mut(key) {
                lane.in_flight = lane.in_flight.saturating_sub(1);
                lane.progressed_at = tokio::time::Instant::now();
                if lane.held() == 0 {
                    lanes.by_target.remove(key);
                }
            }
            if let Some(outcomes) = &lanes.outcomes {
                let _ = outcomes.send(outcome);
            }
            // Other lanes may have waited for the global limit rather than their own.
            lanes
                .by_target
                .iter()
                .filter(|(k, lane)| k.as_str() != key && !lane.queued.is_empty())
                .map(|(k, _)| k.clone())
                .collect()
        };
        self.pump(key);
        for other in waiting {
            self.pump(&other);
        }
    }

    async fn attempt(
        &self,
        message: &ClaimedMessage,
        payload: StoreResult<Option<Value>>,
    ) -> AttemptResult {
        let value = match self.render_payload(message, payload).await {
            Ok(value) => value,
            Err(error) => return AttemptResult::not_sent(error),
        };
        match self.sender.prepare(message, value) {
            Ok(callback) => self.sender.send(callback, self.config.log_body_limit).await,
            Err(error) => AttemptResult::not_sent(error),
        }
    }

    /// The `value` of the callback: the stored object shaped by the
    /// subscription's `fields` exactly as `GET` would, or `null` for deletes.
    async fn render_payload(
        &self,
        message: &ClaimedMessage,
        payload: StoreResult<Option<Value>>,
    ) -> Result<Value, AttemptError> {
        let payload = payload.map_err(|e| AttemptError::Render(e.to_string()))?;
        let Some(object) = payload else {
            return Ok(Value::Null);
        };
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
            object,
            &filter,
        )
        .await
        .map_err(|e| AttemptError::Render(e.to_string()))
    }

    fn outcome(
        &self,
        message: &ClaimedMessage,
        attempted_at_ms: i64,
        result: AttemptResult,
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
        log_attempt(message, &result, next);
        tracing::Span::current().record("outcome", outcome_name(next));
        AttemptOutcome {
            message_id: message.id,
            subscription_id: message.subscription_id,
            lease_until_ms: message.lease_until_ms,
            attempted_at_ms,
            duration_ms: millis(result.duration),
            status_code: result.status,
            error: result.error.as_ref().map(ToString::to_string),
            exchange: result.exchange,
            body_rendered: message.fields.is_none(),
            next,
        }
    }

    /// Writes outcomes in batches, then wakes the loop (a recorded outcome can
    /// make a sibling message claimable) and streams them if anyone listens.
    async fn record_outcomes(self: Arc<Self>, mut receiver: mpsc::UnboundedReceiver<Finished>) {
        let policy = HealthPolicy {
            disable_after_ms: millis(self.config.disable_after),
        };
        let mut finished = Vec::with_capacity(RECORD_BATCH);
        while receiver.recv_many(&mut finished, RECORD_BATCH).await > 0 {
            // One outcome costs the shared writer about as much as hundreds:
            // those that finish a moment later are recorded with it.
            tokio::time::sleep(RECORD_LINGER).await;
            while finished.len() < RECORD_BATCH {
                let Ok(next) = receiver.try_recv() else { break };
                finished.push(next);
            }
            let (batch, attempted): (Vec<AttemptOutcome>, Vec<Option<Attempted>>) =
                finished.drain(..).unzip();
            let mut delay = Duration::from_millis(50);
            while let Err(error) = self.outbox.record(&batch, policy).await {
                // Leases keep the messages safe meanwhile: at worst they are sent again.
                tracing::error!(%error, "recording delivery outcomes failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RECORD_RETRY_MAX);
            }
            self.wake.notify_one();
            if self.live.is_listening() {
                self.live.attempts_recorded(recorded(&batch, &attempted));
            }
        }
    }
}

/// The attempts of a recorded batch, as the live stream takes them.
fn recorded(batch: &[AttemptOutcome], attempted: &[Option<Attempted>]) -> Vec<RecordedAttempt> {
    batch
        .iter()
        .zip(attempted)
        .filter_map(|(outcome, attempted)| {
            let attempted = attempted.as_ref()?;
            Some(RecordedAttempt {
                company_id: attempted.company_id,
                message_id: outcome.message_id,
                subscription_id: outcome.subscription_id,
                failed: outcome.next != NextStep::Delivered,
                attempt: StreamAttempt {
                    number: attempted.number,
                    attempted_at_ms: outcome.attempted_at_ms,
                    duration_ms: outcome.duration_ms,
                    status_code: outcome.status_code,
                    error: outcome.error.clone(),
                },
            })
        })
        .collect()
}

fn release(message: &ClaimedMessage, now_ms: i64) -> AttemptOutcome {
    AttemptOutcome {
        message_id: message.id,
        subscription_id: message.subscription_id,
        lease_until_ms: message.lease_until_ms,
        attempted_at_ms: now_ms,
        duration_ms: 0,
        status_code: None,
        error: None,
        exchange: Exchange::default(),
        body_rendered: false,
        next: NextStep::Release,
    }
}

/// The span of one attempt: what is sent where, the request that caused it,
/// and (recorded when it ends) its outcome, the answer's status and the time
/// it took.
fn attempt_span(message: &ClaimedMessage) -> tracing::Span {
    tracing::info_span!(
        "attempt",
        subscription = message.subscription_id,
        message = message.id,
        event = %message.event,
        object = message.object_id,
        version = message.object_version,
        target_host = %shown_host(&message.target_url),
        attempt = message.attempts + 1,
        request_id = message.request_id.as_deref(),
        outcome = tracing::field::Empty,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    )
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
