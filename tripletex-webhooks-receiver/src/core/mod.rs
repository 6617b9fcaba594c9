//! The framework-free receiver: authenticate the head and the raw bytes,
//! decode, decide on duplicates, and record after the handler succeeded.
//!
//! [`TripletexWebhookLayer`](crate::TripletexWebhookLayer) is a thin shell
//! around [`Receiver`]; use it directly with another framework.

pub mod auth;
pub(crate) mod decode;
pub mod dedup;
pub(crate) mod header_text;
pub(crate) mod locks;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::request::Parts;
use tripletex_webhooks_types::EventType;

use self::auth::{AuthFailure, SignatureInput};
use self::dedup::{DedupKey, Freshness, Mark, Seen, decide};
use self::header_text::HeaderText;
use self::locks::KeyGuard;
use crate::config::WebhookConfig;
use crate::error::{BadRequest, Rejection};
use crate::extract::{Delivery, Webhook};
use crate::metrics::{Counter, Metrics};
use crate::store::{Claim, DedupStore, Lease, StoreError};

/// The tracing target of every event this crate emits.
pub(crate) const TARGET: &str = "tripletex_webhooks_receiver";

/// The first pause between claim attempts while another user of the store
/// (a route or replica) holds the object; it doubles up to [`CLAIM_POLL_MAX`].
const CLAIM_POLL_MIN: Duration = Duration::from_millis(5);
const CLAIM_POLL_MAX: Duration = Duration::from_millis(100);

/// What a claim decided: the delivery's freshness, what to record after the
/// handler, what was handled before, and the lease held.
type Claimed = (
    Freshness,
    Option<(DedupKey, Mark)>,
    Option<Seen>,
    Option<Lease>,
);

/// The receiver without a framework: feed it a request head and body, get a
/// [`Rejection`] (with its status) or an [`Admission`].
///
/// The steps, in order (each may reject):
///
/// 1. [`check_head`](Self::check_head), before the body is read: the header,
///    Basic and query mechanisms and the presence of the signature (401),
///    `POST` (405), `Content-Length` against the limit (413).
/// 2. [`admit`](Self::admit), with the body: its length (413), the HMAC over
///    the exact bytes (401), `Content-Type` (415), decoding (400), then the
///    dedup decision under the object's lock: the store's
///    [claim](crate::DedupStore::claim) (503 if the store fails, or if
///    another route or replica still holds the object after the configured
///    [claim wait](crate::WebhookConfigBuilder::claim_wait)).
/// 3. For [`Admission::Deliver`], run the handler and report with
///    [`Commit::success`] (records the version and releases the claim) or
///    [`Commit::failure`] (releases the claim, waiting for the store) /
///    [`Commit::failure_detached`] (releases it in the background).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bytes::Bytes;
/// use tripletex_webhooks_receiver::{Admission, Receiver, WebhookConfig};
///
/// let receiver = Receiver::new(WebhookConfig::builder().allow_unauthenticated().build()?);
/// let body = Bytes::from_static(
///     br#"{"subscriptionId":1,"event":"product.update","id":7,"value":{"id":7,"version":3}}"#,
/// );
/// let request = http::Request::post("/hook")
///     .header("content-type", "application/json")
///     .body(())?;
/// let (parts, ()) = request.into_parts();
///
/// match receiver.receive(&parts, body.clone()).await? {
///     Admission::Deliver(admitted) => {
///         let (webhook, commit) = admitted.into_parts();
///         assert!(webhook.delivery().is_first());
///         // ... handle it, then:
///         commit.success().await?;
///     }
///     Admission::Acknowledge(_) => unreachable!("first delivery"),
/// }
/// // The same version again is a duplicate: acknowledge without handling.
/// assert!(matches!(receiver.receive(&parts, body).await?, Admission::Acknowledge(_)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Receiver {
    config: WebhookConfig,
}

/// How a delivery is named in logs (`product.update 7 v3`); formatted only
/// when a log line is written.
#[derive(Debug, Clone)]
struct Label {
    event: EventType,
    id: i64,
    version: Option<i64>,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.event, self.id)?;
        match self.version {
            Some(version) => write!(f, " v{version}"),
            None => Ok(()),
        }
    }
}

/// The result of [`Receiver::check_head`]: what the body checks need.
#[derive(Debug, Clone)]
pub struct CheckedHead {
    /// With a credential resolver: the head, authenticated with the body.
    /// Boxed: the per-request future holds a `CheckedHead` and must stay small.
    deferred: Option<Box<(http::HeaderMap, http::Uri)>>,
    signature: Option<SignatureInput>,
    idempotency_key: Option<HeaderText>,
    json: bool,
}

impl CheckedHead {
    /// The `idempotency-key`, once known (after [`Receiver::verify`] with a
    /// credential resolver).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_ref().map(HeaderText::as_str)
    }
}

/// What to do with an authenticated, well-formed delivery.
#[derive(Debug)]
#[must_use]
// One per delivery, destructured at once: boxing the larger variant would
// cost an allocation per delivery for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Admission {
    /// Run the handler, then report through the [`Commit`].
    Deliver(Admitted),
    /// A stale or duplicate delivery: answer 200 without handling it.
    Acknowledge(Webhook),
}

/// A delivery to handle, with the [`Commit`] to report the outcome through.
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    webhook: Webhook,
    commit: Commit,
}

impl Admitted {
    /// The delivery.
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// The delivery and its commit, separately.
    pub fn into_parts(self) -> (Webhook, Commit) {
        (self.webhook, self.commit)
    }
}

/// Reports a handler's outcome. Holds the object's lock (and the store's
/// claim on it) until then, so deliveries of one object are handled one at a
/// time, across every route and replica that shares the store.
///
/// Dropping it without reporting counts as a failure: nothing is recorded and
/// the claim is released in the background (or, without a tokio runtime,
/// lapses after its TTL).
#[must_use = "report the handler's outcome with success(), failure() or failure_detached()"]
pub struct Commit {
    receiver: Receiver,
    record: Option<(DedupKey, Mark)>,
    /// The claim held on `record`'s key, with when it was granted.
    lease: Option<(Lease, tokio::time::Instant)>,
    label: Label,
    /// When the delivery was admitted: the handler duration starts here.
    admitted: tokio::time::Instant,
    done: bool,
    _guard: KeyGuard,
}

impl fmt::Debug for Commit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commit")
            .field("record", &self.record)
            .field("lease", &self.lease.as_ref().map(|(lease, _)| lease))
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Commit {
    /// The handler succeeded: records the version (or deletion, or
    /// idempotency key) and releases the claim, then releases the object.
    ///
    /// A store error here is logged and counted; the handler's work is done,
    /// so answer as the handler did (the delivery may then be handled again
    /// if it is redelivered; the claim lapses after its TTL).
    pub async fn success(mut self) -> Result<(), StoreError> {
        self.done = true;
        Metrics::handler_duration(self.admitted.elapsed(), true);
        let metrics = self.receiver.metrics();
        let store = self.receiver.store();
        if let Some((key, mark)) = self.record.take() {
            let result = match self.lease.take() {
                Some((lease, granted)) => {
                    let held = granted.elapsed();
                    if held >= lease.ttl() {
                        tracing::warn!(
                            target: TARGET,
                            webhook = %self.label,
                            held_ms = u64::try_from(held.as_millis()).unwrap_or(u64::MAX),
                            claim_ttl_ms = lease.ttl_millis(),
                            "the handler outlived its claim: another route or replica may have handled \
                             this delivery concurrently; raise claim_ttl"
                        );
                    }
                    store.commit(&key, mark, &lease).await
                }
                None => store.record(&key, mark).await,
            };
            if let Err(error) = result {
                metrics.increment(Counter::StoreFailed);
                tracing::error!(
                    target: TARGET,
                    outcome = "store_failed",
                    monotonic_counter.tripletex_webhooks_store_failed = 1_u64,
                    webhook = %self.label,
                    %key,
                    %error,
                    "handled, but recording it failed: a redelivery would be handled again"
                );
                return Err(error);
            }
        }
        metrics.increment(Counter::Accepted);
        tracing::info!(
            target: TARGET,
            outcome = "accepted",
            monotonic_counter.tripletex_webhooks_accepted = 1_u64,
            webhook = %self.label,
            "webhook handled"
        );
        Ok(())
    }

    /// The handler failed, and the claim is released before this returns.
    ///
    /// Nothing is recorded, so Tripletex's retry is handled again; since the
    /// claim is already released when the future completes, that retry (at
    /// any route or replica over the same store) can claim the object at
    /// once. A store error releasing the claim is logged; the claim then
    /// lapses after its TTL. What the layer does after a non-2xx answer.
    ///
    /// [`failure_detached`](Self::failure_detached) is the same without
    /// waiting for the store.
    pub async fn failure(mut self) {
        self.done = true;
        self.note_failure("the handler failed");
        if let Some((store, key, lease)) = self.take_claim() {
            release_claim(&*store, &key, &lease, &self.label).await;
        }
    }

    /// The handler failed; returns at once, releasing the claim in a task
    /// spawned on the current tokio runtime.
    ///
    /// Nothing is recorded, so Tripletex's retry is handled again, but a
    /// retry arriving before the spawned release reached the store finds the
    /// object [busy](crate::Claim::Busy) and waits for it. Without a tokio
    /// runtime the claim lapses after its TTL. For code that cannot await;
    /// otherwise prefer [`failure`](Self::failure).
    pub fn failure_detached(mut self) {
        self.done = true;
        self.release_in_background();
        self.note_failure("the handler failed");
    }

    fn note_failure(&self, why: &'static str) {
        Metrics::handler_duration(self.admitted.elapsed(), false);
        self.receiver.metrics().increment(Counter::HandlerFailed);
        tracing::warn!(
            target: TARGET,
            outcome = "handler_failed",
            monotonic_counter.tripletex_webhooks_handler_failed = 1_u64,
            webhook = %self.label,
            "{why}; nothing recorded, Tripletex will retry"
        );
    }
}

impl Commit {
    /// The store, key and lease of a claim still held, if any.
    fn take_claim(&mut self) -> Option<(Arc<dyn DedupStore>, DedupKey, Lease)> {
        let (lease, _) = self.lease.take()?;
        let (key, _) = self.record.take()?;
        Some((Arc::clone(&self.receiver.config.inner.store), key, lease))
    }

    /// Releases the claim on the current tokio runtime, if there is one;
    /// otherwise it lapses after its TTL.
    fn release_in_background(&mut self) {
        let Some((store, key, lease)) = self.take_claim() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let label = self.label.clone();
            runtime.spawn(async move { release_claim(&*store, &key, &lease, &label).await });
        } else {
            tracing::warn!(
                target: TARGET,
                webhook = %self.label,
                "no tokio runtime to release the claim: it lapses after its TTL"
            );
        }
    }
}

async fn release_claim(store: &dyn DedupStore, key: &DedupKey, lease: &Lease, label: &Label) {
    if let Err(error) = store.release(key, lease).await {
        tracing::warn!(
            target: TARGET,
            webhook = %label,
            %key,
            %error,
            "releasing the claim failed: it lapses after its TTL"
        );
    }
}

impl Drop for Commit {
    fn drop(&mut self) {
        if !self.done {
            self.note_failure("the handler did not report (dropped or cancelled)");
            self.release_in_background();
        }
    }
}

impl Receiver {
    /// A receiver for this configuration.
    pub fn new(config: WebhookConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.config.inner.metrics
    }

    /// The store, called through its own vtable: a call on the `Arc` would
    /// go through `Arc`'s `DedupStore` impl, one more boxed future per call.
    fn store(&self) -> &dyn DedupStore {
        &*self.config.inner.store
    }

    /// Step 1: checks the request head before the body is read.
    ///
    /// With a [`CredentialResolver`](crate::CredentialResolver), the
    /// credentials depend on the body, so the head is authenticated in
    /// [`admit`](Self::admit), with the same checks.
    pub fn check_head(&self, parts: &Parts) -> Result<CheckedHead, Rejection> {
        let inner = &self.config.inner;
        let signature = if inner.resolved.is_some() {
            None
        } else {
            inner
                .auth
                .check_head(&parts.headers, &parts.uri)
                .map_err(|reason| self.unauthorized(reason, &inner.auth))?
        };
        if parts.method != Method::POST {
            return Err(self.malformed(Rejection::MethodNotAllowed));
        }
        let declared = decode::content_length(&parts.headers).map_err(|r| self.malformed(r))?;
        let limit = u64::try_from(inner.body_limit).unwrap_or(u64::MAX);
        if declared.is_some_and(|length| length > limit) {
            return Err(self.too_large());
        }
        if inner.resolved.is_some() {
            return Ok(CheckedHead {
                deferred: Some(Box::new((parts.headers.clone(), parts.uri.clone()))),
                signature: None,
                idempotency_key: None,
                json: decode::is_json(&parts.headers),
            });
        }
        let idempotency_key = self.idempotency_key(signature.as_ref(), &parts.headers)?;
        Ok(CheckedHead {
            deferred: None,
            signature,
            idempotency_key,
            json: decode::is_json(&parts.headers),
        })
    }

    /// Step 2: checks and decodes the body, then decides under the object's
    /// lock whether the handler should run.
    pub async fn admit(&self, mut head: CheckedHead, body: Bytes) -> Result<Admission, Rejection> {
        let decoded = self.verify(&mut head, &body).await?;
        self.decide(head, decoded, body).await
    }

    /// Step 2's checks without the dedup decision: authenticates the body
    /// and decodes it (what an inbox stores before answering).
    pub(crate) async fn verify(
        &self,
        head: &mut CheckedHead,
        body: &Bytes,
    ) -> Result<decode::Decoded, Rejection> {
        let inner = &self.config.inner;
        if body.len() > inner.body_limit {
            return Err(self.too_large());
        }
        let resolved = match (head.deferred.take(), &inner.resolved) {
            (Some(deferred), Some(resolved)) => {
                let (headers, uri) = *deferred;
                let identity = crate::credentials::identity(&uri, body);
                let (credentials, known) = resolved
                    .credentials(identity)
                    .await
                    .map_err(|e| self.resolver_failed(e))?;
                // Unknown: the same checks against a dummy of the same
                // shape, then 401 whatever they found.
                let auth = &*credentials.auth;
                let signature = auth
                    .check_head(&headers, &uri)
                    .map_err(|reason| self.unauthorized(reason, auth))?;
                head.idempotency_key = self.idempotency_key(signature.as_ref(), &headers)?;
                head.signature = signature;
                Some((credentials, known))
            }
            _ => None,
        };
        let auth = resolved
            .as_ref()
            .map_or(&inner.auth, |(credentials, _)| &*credentials.auth);
        if let Some(input) = &head.signature {
            auth.check_signature(input, body)
                .map_err(|reason| self.unauthorized(reason, auth))?;
        }
        if let Some((credentials, false)) = &resolved {
            return Err(self.unauthorized(AuthFailure::UnknownDelivery, &credentials.auth));
        }
        if !head.json {
            return Err(self.malformed(Rejection::UnsupportedMediaType));
        }
        decode::decode(body)
            .map_err(|error| self.malformed(Rejection::BadRequest(BadRequest::Decode(error))))
    }

    /// Step 2's dedup decision on a verified delivery, under the object's lock.
    async fn decide(
        &self,
        head: CheckedHead,
        decoded: decode::Decoded,
        body: Bytes,
    ) -> Result<Admission, Rejection> {
        let inner = &self.config.inner;
        let object = decoded.event.object_key();
        let guard = inner.locks.lock(object.clone()).await;
        let object = DedupKey::Object(object);
        let mark = if decoded.event.event.is_delete() {
            Some(Mark::Tombstone)
        } else {
            decoded.version.map(Mark::Version)
        };
        let (freshness, record, previous, lease) = if let Some(mark) = mark {
            self.claim(object, mark).await?
        } else {
            // No version to compare: the object's tombstone, then the
            // idempotency key decide.
            let seen = self
                .store()
                .seen(&object)
                .await
                .map_err(|e| self.store_unavailable(e))?;
            if seen.is_some_and(|seen| seen.deleted) {
                (Freshness::Stale, None, seen, None)
            } else if let Some(key) = &head.idempotency_key {
                self.claim(DedupKey::Delivery(key.as_str().to_owned()), Mark::Delivered)
                    .await?
            } else {
                (Freshness::Unkeyed, None, None, None)
            }
        };
        let webhook = Webhook {
            delivery: Delivery {
                idempotency_key: head.idempotency_key,
                version: decoded.version,
                freshness,
                key: record.as_ref().map(|(key, _)| key.clone()),
                previous,
            },
            event: decoded.event,
            raw_body: body,
        };
        let label = Label {
            event: webhook.event.event.clone(),
            id: webhook.event.id,
            version: webhook.delivery.version,
        };
        self.note_freshness(freshness, &label, previous);
        if freshness.is_redundant() && !inner.pass_redundant {
            return Ok(Admission::Acknowledge(webhook));
        }
        let admitted = tokio::time::Instant::now();
        Ok(Admission::Deliver(Admitted {
            webhook,
            commit: Commit {
                receiver: self.clone(),
                record: record.filter(|_| !freshness.is_redundant()),
                lease: lease.map(|lease| (lease, admitted)),
                label,
                admitted,
                done: false,
                _guard: guard,
            },
        }))
    }

    /// Claims `key` for `mark` in the store, waiting (bounded by the
    /// configured claim wait) while another route or replica holds it: what the
    /// delivery is, what to record, what was handled before, and the lease
    /// when the handler is to run under a claim.
    async fn claim(&self, key: DedupKey, mark: Mark) -> Result<Claimed, Rejection> {
        let inner = &self.config.inner;
        let lease = Lease::new(inner.claim_ttl);
        let deadline = tokio::time::Instant::now() + inner.claim_wait;
        let mut pause = CLAIM_POLL_MIN;
        loop {
            let claim = self
                .store()
                .claim(&key, mark, &lease)
                .await
                .map_err(|e| self.store_unavailable(e))?;
            match claim {
                Claim::Claimed { previous } => {
                    return Ok((Freshness::New, Some((key, mark)), previous, Some(lease)));
                }
                Claim::AlreadyHandled(seen) => {
                    // Trust the store: if it says handled, it is not new.
                    let freshness = match decide(Some(seen), mark) {
                        Freshness::New => Freshness::Duplicate,
                        other => other,
                    };
                    return Ok((freshness, Some((key, mark)), Some(seen), None));
                }
                Claim::Busy { retry_after } => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(self.busy(&key, retry_after));
                    }
                    let mut sleep = pause.min(deadline - now);
                    if let Some(remaining) = retry_after {
                        // Wake when the other claim lapses, if that is sooner.
                        sleep = sleep.min(remaining.max(CLAIM_POLL_MIN));
                    }
                    tokio::time::sleep(sleep).await;
                    pause = (pause * 2).min(CLAIM_POLL_MAX);
                }
            }
        }
    }

    /// Counts and logs a 503 for a delivery whose object another route or
    /// replica holds.
    fn busy(&self, key: &DedupKey, retry_after: Option<Duration>) -> Rejection {
        self.metrics().increment(Counter::Busy);
        let retry_after = retry_after
            .unwrap_or(self.config.inner.claim_ttl)
            .max(Duration::from_secs(1));
        tracing::info!(
            target: TARGET,
            outcome = "busy",
            monotonic_counter.tripletex_webhooks_busy = 1_u64,
            %key,
            retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            "another route or replica is handling this object; answering 503 so Tripletex retries"
        );
        Rejection::Busy { retry_after }
    }

    /// Steps 1 and 2 on a body already read.
    pub async fn receive(&self, parts: &Parts, body: Bytes) -> Result<Admission, Rejection> {
        let head = self.check_head(parts)?;
        self.admit(head, body).await
    }

    /// A 413 (counted as malformed).
    pub(crate) fn too_large(&self) -> Rejection {
        self.malformed(Rejection::PayloadTooLarge {
            limit: self.config.inner.body_limit,
        })
    }

    /// Counts and logs a 400/405/413/415 rejection.
    pub(crate) fn malformed(&self, rejection: Rejection) -> Rejection {
        self.metrics()
            .increment_because(Counter::Malformed, rejection.kind());
        tracing::warn!(
            target: TARGET,
            outcome = "malformed",
            monotonic_counter.tripletex_webhooks_malformed = 1_u64,
            status = rejection.status().as_u16(),
            reason = rejection.kind(),
            error = %rejection,
            "webhook refused"
        );
        rejection
    }

    /// The idempotency key: the signed one, or the header's if valid.
    fn idempotency_key(
        &self,
        signature: Option<&SignatureInput>,
        headers: &http::HeaderMap,
    ) -> Result<Option<HeaderText>, Rejection> {
        match signature {
            Some(input) => Ok(Some(input.idempotency_key.clone())),
            None => decode::idempotency_key(headers).map_err(|r| self.malformed(r)),
        }
    }

    fn resolver_failed(&self, error: crate::credentials::ResolveError) -> Rejection {
        self.metrics().increment(Counter::ResolverFailed);
        tracing::error!(
            target: TARGET,
            outcome = "resolver_failed",
            monotonic_counter.tripletex_webhooks_resolver_failed = 1_u64,
            %error,
            "looking up the credentials failed; answering 503 so Tripletex retries"
        );
        Rejection::CredentialsUnavailable(error)
    }

    fn unauthorized(&self, reason: AuthFailure, auth: &self::auth::Authenticator) -> Rejection {
        self.metrics()
            .increment_because(Counter::Unauthorized, reason.as_str());
        tracing::warn!(
            target: TARGET,
            outcome = "unauthorized",
            monotonic_counter.tripletex_webhooks_unauthorized = 1_u64,
            reason = reason.as_str(),
            "webhook refused: authentication failed"
        );
        Rejection::Unauthorized {
            reason,
            challenge_basic: auth.challenges_basic(),
        }
    }

    fn store_unavailable(&self, error: StoreError) -> Rejection {
        self.metrics().increment(Counter::StoreFailed);
        tracing::error!(
            target: TARGET,
            outcome = "store_failed",
            monotonic_counter.tripletex_webhooks_store_failed = 1_u64,
            %error,
            "dedup store lookup failed; answering 503 so Tripletex retries"
        );
        Rejection::StoreUnavailable(error)
    }

    fn note_freshness(&self, freshness: Freshness, label: &Label, previous: Option<Seen>) {
        let metrics = self.metrics();
        let handled = previous.and_then(|seen| seen.version);
        let deleted = previous.is_some_and(|seen| seen.deleted);
        match freshness {
            Freshness::New => {}
            Freshness::Duplicate => {
                metrics.increment(Counter::Duplicate);
                tracing::info!(
                    target: TARGET,
                    outcome = "duplicate",
                    monotonic_counter.tripletex_webhooks_duplicate = 1_u64,
                    webhook = %label,
                    "already handled; acknowledged"
                );
            }
            Freshness::Stale => {
                metrics.increment(Counter::Stale);
                tracing::info!(
                    target: TARGET,
                    outcome = "stale",
                    monotonic_counter.tripletex_webhooks_stale = 1_u64,
                    webhook = %label,
                    handled_version = handled,
                    deleted,
                    "older than what was handled; acknowledged"
                );
            }
            Freshness::Unkeyed => {
                metrics.increment(Counter::Unkeyed);
                tracing::info!(
                    target: TARGET,
                    outcome = "unkeyed",
                    monotonic_counter.tripletex_webhooks_unkeyed = 1_u64,
                    webhook = %label,
                    "no version and no idempotency-key: passed through without dedup"
                );
            }
        }
    }
}
