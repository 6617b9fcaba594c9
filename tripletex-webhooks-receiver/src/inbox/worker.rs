//! The workers: claim events, hand them to the application, record the
//! outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;
use tripletex_webhooks_types::signature::IDEMPOTENCY_KEY_HEADER;

use super::clock::between;
use super::metrics::{self as inbox_metrics, DEAD_LETTERED, HANDLED, RETRIED, SKIPPED};
use super::{Claimed, Inbox, State};
use crate::config::WebhookConfig;
use crate::core::TARGET;
use crate::core::decode;
use crate::core::header_text::HeaderText;
use crate::dedup::{DedupKey, Freshness, Mark, decide};
use crate::error::BoxError;
use crate::extract::{Delivery, Webhook};
use crate::metrics::{Counter, Metrics};
use crate::store::{Claim, Lease};

/// What the layer finds in a request a worker sends: the delivery to hand
/// to the inner service without checking it again. Only this crate can make
/// one, so no request from outside carries it.
#[derive(Debug, Clone)]
pub(crate) struct InboxRun(pub(crate) Webhook);

type Handler =
    Arc<dyn Fn(Request<Body>) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// The application's answer to one event.
type Outcome = Result<StatusCode, BoxError>;

/// The running workers of an [`Inbox`]: stop them with
/// [`shutdown`](Self::shutdown) (dropping them stops them too, cancelling
/// the handlers in flight: their events run again once their leases lapse).
#[derive(Debug)]
pub struct InboxWorkers {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InboxWorkers {
    /// Stops claiming events and waits for the handlers in flight.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for InboxWorkers {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Inbox {
    /// Starts the workers on the current tokio runtime: they hand each
    /// event to `app` (the router or service behind the
    /// [`TripletexWebhookLayer`](crate::TripletexWebhookLayer) with this
    /// inbox, at the path the delivery arrived at) and dedup it with
    /// `config`'s store, as the layer would without the inbox.
    pub fn start<S, B>(&self, config: WebhookConfig, app: S) -> InboxWorkers
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: HttpBody + Send + 'static,
    {
        let app = Mutex::new(app);
        let handler: Handler = Arc::new(move |request| {
            let service = app.lock().map(|app| app.clone()).map_err(|_| ());
            Box::pin(async move {
                let mut service =
                    service.map_err(|()| BoxError::from("the handler's lock is poisoned"))?;
                std::future::poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                let response = service.call(request).await.map_err(Into::into)?;
                Ok(response.status())
            })
        });
        let (stop, stopped) = watch::channel(false);
        let context = Arc::new(Context {
            inbox: self.clone(),
            config,
            handler,
        });
        InboxWorkers {
            stop,
            task: Some(tokio::spawn(run(context, stopped))),
        }
    }
}

/// What every worker task needs.
struct Context {
    inbox: Inbox,
    config: WebhookConfig,
    handler: Handler,
}

impl Context {
    fn now_ms(&self) -> i64 {
        self.inbox.shared.clock.now_ms()
    }

    fn metrics(&self) -> &Metrics {
        &self.config.inner.metrics
    }
}

/// The claiming loop: keeps up to `workers` events in flight, waking when a
/// delivery is stored, a handler finishes, the next event is due or the
/// poll interval passed.
async fn run(context: Arc<Context>, mut stopped: watch::Receiver<bool>) {
    let settings = context.inbox.settings;
    let mut tasks = JoinSet::new();
    let mut gauged: Option<i64> = None;
    while !*stopped.borrow() {
        while tasks.try_join_next().is_some() {}
        let free = settings.workers.saturating_sub(tasks.len());
        let claimed = if free > 0 {
            claim(&context, free).await
        } else {
            Vec::new()
        };
        let idle = free > 0 && claimed.is_empty();
        for (event, token) in claimed {
            let context = Arc::clone(&context);
            tasks.spawn(async move { handle(&context, event, &token).await });
        }
        let now = context.now_ms();
        // The gauges when idle, and at most once a second under load.
        if idle || gauged.is_none_or(|at| now - at >= 1_000) {
            gauged = Some(now);
            gauge(&context).await;
        }
        let wait = if idle {
            idle_wait(&context).await
        } else {
            settings.poll_interval
        };
        tokio::select! {
            _ = stopped.changed() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = context.inbox.shared.stored.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// Claims up to `limit` events under one fresh token.
async fn claim(context: &Context, limit: usize) -> Vec<(Claimed, String)> {
    let token = Lease::new(context.inbox.settings.lease).token().to_owned();
    let now = context.now_ms();
    let until = now.saturating_add(super::clock::millis(context.inbox.settings.lease));
    match context
        .inbox
        .shared
        .pool
        .claim(&token, until, now, limit)
        .await
    {
        Ok(events) => events
            .into_iter()
            .map(|event| (event, token.clone()))
            .collect(),
        Err(error) => {
            tracing::error!(target: TARGET, %error, "claiming inbox events failed; trying again");
            Vec::new()
        }
    }
}

/// Until the next event is due, at most the poll interval. Events due now
/// that were not claimed wait for another event of their object (woken when
/// its handler finishes) or another replica: the poll interval.
async fn idle_wait(context: &Context) -> Duration {
    let poll = context.inbox.settings.poll_interval;
    let now = context.now_ms();
    match context.inbox.shared.pool.next_due().await {
        Ok(Some(due)) if due > now => between(now, due).min(poll),
        Ok(_) => poll,
        Err(error) => {
            tracing::error!(target: TARGET, %error, "reading the inbox failed");
            poll
        }
    }
}

async fn gauge(context: &Context) {
    match context.inbox.depth().await {
        Ok((pending, oldest)) => inbox_metrics::depth(pending, oldest),
        Err(error) => tracing::warn!(target: TARGET, %error, "reading the inbox depth failed"),
    }
}

/// What became of one attempt.
enum Attempt {
    /// The handler succeeded.
    Handled,
    /// A stale or duplicate version: not handed to the handler.
    Redundant,
    /// Another route or replica holds the object: try again then, without
    /// counting an attempt.
    Busy(Duration),
    /// The handler (or the dedup store) failed.
    Failed(String),
}

/// Runs one claimed event and records what became of it.
async fn handle(context: &Context, event: Claimed, token: &str) {
    let attempt = renewing(context, event.id, token, attempt(context, &event)).await;
    let pool = &context.inbox.shared.pool;
    let settings = context.inbox.settings;
    let now = context.now_ms();
    let result = match attempt {
        Attempt::Handled => {
            inbox_metrics::count(HANDLED);
            pool.finish(event.id, token, State::Done, now, None).await
        }
        Attempt::Redundant => {
            inbox_metrics::count(SKIPPED);
            pool.finish(event.id, token, State::Skipped, now, None)
                .await
        }
        Attempt::Busy(after) => {
            let at = now.saturating_add(super::clock::millis(after));
            pool.retry(
                event.id,
                token,
                at,
                "busy: another replica held the object",
                false,
            )
            .await
        }
        Attempt::Failed(error) => {
            let attempts = u32::try_from(event.attempts).unwrap_or(u32::MAX);
            let too_old = settings
                .max_age
                .is_some_and(|age| between(event.received_ms, now) >= age);
            if attempts >= settings.max_attempts || too_old {
                inbox_metrics::count(DEAD_LETTERED);
                tracing::error!(
                    target: TARGET,
                    id = event.id,
                    object = %event.object_key,
                    attempts,
                    %error,
                    "inbox event dead-lettered"
                );
                pool.finish(event.id, token, State::Dead, now, Some(&error))
                    .await
            } else {
                inbox_metrics::count(RETRIED);
                let pause = context.inbox.backoff_after(attempts);
                let at = now.saturating_add(super::clock::millis(pause));
                pool.retry(event.id, token, at, &error, true).await
            }
        }
    };
    if let Err(error) = result {
        // The lease lapses and the event runs again (dedup skips it if it was handled).
        tracing::error!(target: TARGET, id = event.id, %error, "recording an inbox event's outcome failed");
    }
}

/// Runs `work` while extending `token`'s lease on event `id` every third of
/// the lease, so a handler slower than the lease keeps its event (and its
/// object) to itself.
async fn renewing<T>(context: &Context, id: i64, token: &str, work: impl Future<Output = T>) -> T {
    let lease = context.inbox.settings.lease;
    let mut ticks = tokio::time::interval((lease / 3).max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = ticks.tick() => {
                let until = context.now_ms().saturating_add(super::clock::millis(lease));
                match context.inbox.shared.pool.renew(id, token, until).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(target: TARGET, id, "an inbox event's claim was lost while its handler ran: another worker may run it"),
                    Err(error) => tracing::warn!(target: TARGET, id, %error, "renewing an inbox event's claim failed: it lapses unless a later renewal succeeds"),
                }
            }
        }
    }
}

/// One attempt: dedup, then the handler, then the record.
async fn attempt(context: &Context, event: &Claimed) -> Attempt {
    let decoded = match decode::decode(event.body.as_bytes()) {
        Ok(decoded) => decoded,
        Err(error) => {
            return Attempt::Failed(format!("the stored body no longer decodes: {error}"));
        }
    };
    let store = &context.config.inner.store;
    let object = DedupKey::Object(decoded.event.object_key());
    let mark = if decoded.event.event.is_delete() {
        Some(Mark::Tombstone)
    } else {
        decoded.version.map(Mark::Version)
    };
    if mark.is_none() {
        // No version to compare: a deleted object's events are stale, as
        // without the inbox; then the idempotency key decides.
        match store.seen(&object).await {
            Ok(Some(seen)) if seen.deleted => {
                count_redundant(context.metrics(), Freshness::Stale);
                if !event.forced {
                    return Attempt::Redundant;
                }
            }
            Ok(_) => {}
            Err(error) => {
                context.metrics().increment(Counter::StoreFailed);
                return Attempt::Failed(format!("the dedup store failed: {error}"));
            }
        }
    }
    let record = match (mark, &event.idempotency_key) {
        (Some(mark), _) => Some((object, mark)),
        (None, Some(key)) => Some((DedupKey::Delivery(key.clone()), Mark::Delivered)),
        (None, None) => None,
    };
    let lease = Lease::new(context.config.inner.claim_ttl);
    let (freshness, previous, held) = match &record {
        Some((key, mark)) => match store.claim(key, *mark, &lease).await {
            Ok(Claim::Claimed { previous }) => (Freshness::New, previous, true),
            Ok(Claim::AlreadyHandled(seen)) => {
                let freshness = match decide(Some(seen), *mark) {
                    Freshness::New => Freshness::Duplicate,
                    other => other,
                };
                count_redundant(context.metrics(), freshness);
                if !event.forced {
                    return Attempt::Redundant;
                }
                (freshness, Some(seen), false)
            }
            Ok(Claim::Busy { retry_after }) => {
                let poll = context.inbox.settings.poll_interval;
                return Attempt::Busy(retry_after.map_or(poll, |after| after.min(poll)));
            }
            Err(error) => {
                context.metrics().increment(Counter::StoreFailed);
                return Attempt::Failed(format!("the dedup store failed: {error}"));
            }
        },
        None => (Freshness::Unkeyed, None, false),
    };
    let webhook = Webhook {
        delivery: Delivery {
            idempotency_key: event
                .idempotency_key
                .as_deref()
                .and_then(|key| HeaderValue::from_str(key).ok())
                .and_then(|value| HeaderText::new(&value)),
            version: decoded.version,
            freshness,
            key: record.as_ref().filter(|_| held).map(|(key, _)| key.clone()),
            previous,
        },
        event: decoded.event,
        raw_body: bytes::Bytes::from(event.body.clone()),
    };
    let started = tokio::time::Instant::now();
    let outcome = (context.handler)(request(event, webhook)).await;
    let succeeded = matches!(&outcome, Ok(status) if status.is_success());
    Metrics::handler_duration(started.elapsed(), succeeded);
    let metrics = context.metrics();
    if !succeeded {
        metrics.increment(Counter::HandlerFailed);
        if let (true, Some((key, _))) = (held, &record) {
            if let Err(error) = store.release(key, &lease).await {
                tracing::warn!(target: TARGET, %key, %error, "releasing the claim failed: it lapses after its TTL");
            }
        }
        return Attempt::Failed(match outcome {
            Ok(status) => format!("the handler answered {status}"),
            Err(error) => format!("the handler failed: {error}"),
        });
    }
    if let (true, Some((key, mark))) = (held, &record) {
        if let Err(error) = store.commit(key, *mark, &lease).await {
            metrics.increment(Counter::StoreFailed);
            tracing::error!(
                target: TARGET,
                %key,
                %error,
                "handled, but recording it failed: a redelivery would be handled again"
            );
        }
    }
    metrics.increment(Counter::Accepted);
    Attempt::Handled
}

fn count_redundant(metrics: &Metrics, freshness: Freshness) {
    match freshness {
        Freshness::Stale => metrics.increment(Counter::Stale),
        _ => metrics.increment(Counter::Duplicate),
    }
}

/// The request the application gets: the path it arrived at, JSON, its
/// idempotency key, the raw body, and the delivery in the extensions.
fn request(event: &Claimed, webhook: Webhook) -> Request<Body> {
    let mut request = Request::new(Body::from(event.body.clone()));
    *request.method_mut() = http::Method::POST;
    if let Ok(uri) = event.path.parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(key) = event
        .idempotency_key
        .as_deref()
        .and_then(|key| HeaderValue::from_str(key).ok())
    {
        headers.insert(HeaderName::from_static(IDEMPOTENCY_KEY_HEADER), key);
    }
    request.extensions_mut().insert(InboxRun(webhook));
    request
}
