//! The durable inbox: acknowledge at once, handle from a database.
//!
//! With [`TripletexWebhookLayer::inbox`](crate::TripletexWebhookLayer::inbox),
//! the layer authenticates and decodes each delivery as without it, then
//! writes it to the [`Inbox`] (a SQLite file, or PostgreSQL for replicas)
//! and answers **200 once the write is committed**, before any handler runs.
//! [`Inbox::start`] runs the workers that hand the stored deliveries to the
//! application, through the same router, with the same [`Webhook`](crate::Webhook)
//! extractor:
//!
//! - **per object, one at a time and in version order** (a deletion after
//!   every version), several objects at once (up to
//!   [`workers`](Inbox::workers));
//! - **dedup as without the inbox**: the [`DedupStore`](crate::DedupStore) of
//!   the [`WebhookConfig`](crate::WebhookConfig) is claimed before the handler,
//!   a stale or duplicate version is not handed to it, and the version is
//!   recorded only after the handler succeeded (answered 2xx);
//! - **retries with exponential backoff** when the handler fails (any other
//!   answer, or an error), from [`backoff`](Inbox::backoff)'s first pause,
//!   doubling up to its cap;
//! - **dead letters** after [`max_attempts`](Inbox::max_attempts) attempts or
//!   once older than [`max_age`](Inbox::max_age): kept, no longer tried, until
//!   [`replay`](Inbox::replay)ed (from code, or with `tripletex-webhooks inbox
//!   replay`);
//! - **leases**: a worker claims events for the [`lease`](Inbox::lease)'s
//!   duration, renewed while the handler runs (PostgreSQL: `FOR UPDATE SKIP
//!   LOCKED`), so replicas on one database never run one event at once, and a
//!   crashed worker's events are claimed again once its lease lapsed.
//!
//! # Schema
//!
//! One table, `tripletex_webhook_inbox` (created on open), one row per
//! delivery: `id`, `object_key` (`SUBJECT:ID`), `version`, `deleted`,
//! `idempotency_key` (unique: Tripletex's retry of a stored delivery is
//! stored once), `subscription_id`, `event`, `path`, `body` (the exact bytes
//! received, as text), `received_ms`, `state` (`pending`, `done`, `skipped`
//! for a stale or duplicate version, `dead`), `attempts`, `next_attempt_ms`,
//! `claim_token` and `claimed_until_ms` (the lease), `finished_ms`,
//! `last_error`. Times are milliseconds since the Unix epoch. Finished rows
//! stay until [`purge_finished`](Inbox::purge_finished).
//!
//! # What a crash can and cannot do
//!
//! A delivery is acknowledged only after its row is committed (SQLite with
//! `synchronous=FULL`), so a crash at any instant loses nothing that
//! Tripletex was told was received: what was not acknowledged, Tripletex
//! sends again. A crash while a handler runs leaves the event claimed; its
//! lease and its dedup claim lapse, and it runs again. A crash after the
//! handler's version was recorded and before the row was marked done makes
//! the next attempt find the version handled: it is skipped, not handled
//! twice. The one window where a handler's work is done twice is a crash
//! between the handler's success and the recording of its version (at least
//! once, as without the inbox): keep handlers idempotent for that instant.
//! Use a durable dedup store (such as `SqliteStore` on the same file) so
//! that dedup survives a restart too.

mod backoff;
mod clock;
pub mod metrics;
mod pool;
mod sql;
pub(crate) mod worker;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use self::clock::Clock;
use self::pool::{NewEntry, Pool};
pub use self::worker::InboxWorkers;
use crate::core::decode::Decoded;
use crate::error::BoxError;

/// The default bound on each wait for a database connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of events handled at once.
pub const DEFAULT_WORKERS: usize = 8;
/// The default number of attempts before an event is dead-lettered.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// The default first pause after a failure (it doubles per attempt).
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// The default longest pause between attempts.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(600);
/// The default lease: how long a worker holds an event.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default pause between looks at the database when idle (other
/// replicas' writes and lapsed leases are seen within it).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A durable inbox on SQLite or PostgreSQL. Cheap to clone: clones share the
/// database and wake the same workers.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use axum::{Router, http::StatusCode, routing::post};
/// use tripletex_webhooks_receiver::inbox::Inbox;
/// use tripletex_webhooks_receiver::store::SqliteStore;
/// use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
///
/// async fn handler(webhook: Webhook) -> StatusCode {
///     println!("{} {}: may take minutes", webhook.event().event, webhook.event().id);
///     StatusCode::OK
/// }
///
/// let url = "sqlite://webhooks.db";
/// let inbox = Inbox::open(url).await?.max_attempts(8).backoff(Duration::from_secs(5), Duration::from_secs(3600));
/// let config = WebhookConfig::builder()
///     .hmac_secret("shared-secret")
///     .store(SqliteStore::connect(url).await?) // dedup survives restarts too
///     .build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/tripletex", post(handler))
///     .layer(TripletexWebhookLayer::new(config.clone()).inbox(inbox.clone()));
/// let workers = inbox.start(config, app.clone());
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// axum::serve(listener, app).await?;
/// workers.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Inbox {
    shared: Arc<Shared>,
    settings: Settings,
}

/// What every clone shares.
struct Shared {
    pool: Pool,
    clock: Clock,
    /// Wakes the workers when a delivery is stored.
    stored: Notify,
}

/// How the workers run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) workers: usize,
    pub(crate) max_attempts: u32,
    pub(crate) max_age: Option<Duration>,
    pub(crate) backoff: Duration,
    pub(crate) backoff_cap: Duration,
    pub(crate) lease: Duration,
    pub(crate) poll_interval: Duration,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("pool", &self.shared.pool)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// The table the inbox keeps its events in (created if missing).
    pub const TABLE: &str = sql::TABLE;

    /// Opens the inbox at `url` (`sqlite://FILE`, `sqlite::memory:`,
    /// `postgres://…`; each behind its feature) and creates its table if
    /// missing.
    pub async fn open(url: &str) -> Result<Self, InboxError> {
        Self::open_within(url, DEFAULT_CONNECT_TIMEOUT).await
    }

    /// [`open`](Self::open), each wait for a database connection (the first
    /// connect included) bounded by `timeout` instead of
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub async fn open_within(url: &str, timeout: Duration) -> Result<Self, InboxError> {
        let pool = Pool::open(url, timeout).await?;
        pool.migrate().await?;
        Ok(Self {
            shared: Arc::new(Shared {
                pool,
                clock: Clock::start(),
                stored: Notify::new(),
            }),
            settings: Settings {
                workers: DEFAULT_WORKERS,
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                max_age: None,
                backoff: DEFAULT_BACKOFF,
                backoff_cap: DEFAULT_BACKOFF_CAP,
                lease: DEFAULT_LEASE,
                poll_interval: DEFAULT_POLL_INTERVAL,
            },
        })
    }

    /// How many events are handled at once (at least one; default
    /// [`DEFAULT_WORKERS`]).
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.settings.workers = workers.max(1);
        self
    }

    /// After how many failed attempts an event is dead-lettered (at least
    /// one; default [`DEFAULT_MAX_ATTEMPTS`]).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = attempts.max(1);
        self
    }

    /// An event that fails once older than `age` (since it was received) is
    /// dead-lettered, whatever its attempts. Default: no age limit.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.max_age = Some(age);
        self
    }

    /// The pause after the first failure (`first`), doubling per attempt up
    /// to `cap`. Default [`DEFAULT_BACKOFF`], [`DEFAULT_BACKOFF_CAP`].
    #[must_use]
    pub fn backoff(mut self, first: Duration, cap: Duration) -> Self {
        self.settings.backoff = first;
        self.settings.backoff_cap = cap.max(first);
        self
    }

    /// How long a worker holds a claimed event (default [`DEFAULT_LEASE`]),
    /// renewed every third of it while the handler runs: a crashed worker's
    /// events wait for it to lapse.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// How often idle workers look at the database (default
    /// [`DEFAULT_POLL_INTERVAL`]); deliveries stored through this inbox wake
    /// them at once.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// The pause before attempt `attempt + 1`, after `attempt` failures.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        backoff::pause(self.settings.backoff, self.settings.backoff_cap, attempt)
    }

    /// Stores a verified delivery; `false` when a delivery with its
    /// idempotency key was stored before.
    pub(crate) async fn store(
        &self,
        decoded: &Decoded,
        idempotency_key: Option<&str>,
        path: &str,
        body: &str,
    ) -> Result<bool, InboxError> {
        let event = &decoded.event;
        let object = event.object_key();
        let event_type = event.event.to_string();
        let entry = NewEntry {
            object_key: format!("{}:{}", object.subject, object.id),
            version: decoded.version,
            deleted: event.event.is_delete(),
            idempotency_key,
            subscription_id: Some(event.subscription_id),
            event: &event_type,
            path,
            body,
            received_ms: self.shared.clock.now_ms(),
        };
        let stored = self.shared.pool.insert(&entry).await?;
        if stored {
            metrics::stored();
            self.shared.stored.notify_one();
        }
        Ok(stored)
    }

    /// The events matching `filter`, oldest first, at most `limit`.
    pub async fn list(
        &self,
        filter: &ReplayFilter,
        limit: usize,
    ) -> Result<Vec<InboxEntry>, InboxError> {
        self.shared.pool.list(filter, limit).await
    }

    /// Puts the events matching `filter` back to pending, with no attempts
    /// counted, and wakes the workers: a dead-lettered event is handled as
    /// if new; one that was handled (or found stale or duplicate) goes to
    /// the handler again, marked duplicate or stale in its
    /// [`Delivery`](crate::Delivery), and nothing is recorded for it.
    /// Returns how many events were put back.
    pub async fn replay(&self, filter: &ReplayFilter) -> Result<u64, InboxError> {
        let replayed = self
            .shared
            .pool
            .replay(filter, self.shared.clock.now_ms())
            .await?;
        if replayed > 0 {
            self.shared.stored.notify_one();
        }
        Ok(replayed)
    }

    /// How many events are pending, and how long ago the oldest of them was
    /// received.
    pub async fn depth(&self) -> Result<(u64, Option<Duration>), InboxError> {
        let (depth, oldest) = self.shared.pool.depth().await?;
        let now = self.shared.clock.now_ms();
        let age = oldest.map(|at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0)));
        Ok((u64::try_from(depth).unwrap_or(0), age))
    }

    /// Deletes events handled or skipped more than `age` ago; returns how many.
    pub async fn purge_finished(&self, age: Duration) -> Result<u64, InboxError> {
        let before = self
            .shared
            .clock
            .now_ms()
            .saturating_sub(clock::millis(age));
        self.shared.pool.purge(before).await
    }

    /// Closes the database connections.
    pub async fn close(&self) {
        self.shared.pool.close().await;
    }
}

/// Which events [`Inbox::list`] and [`Inbox::replay`] select: by state, id
/// range, time received and subscription. The default selects the dead
/// letters.
///
/// ```
/// use tripletex_webhooks_receiver::inbox::{ReplayFilter, State};
///
/// // Every event of subscription 7 with an id from 100, whatever its state.
/// let filter = ReplayFilter::dead_letters()
///     .states(&[State::Dead, State::Done, State::Skipped])
///     .ids(100, i64::MAX)
///     .subscription(7);
/// # drop(filter);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFilter {
    pub(crate) states: Vec<State>,
    pub(crate) ids: (i64, i64),
    pub(crate) received_ms: (i64, i64),
    pub(crate) subscription_id: Option<i64>,
}

impl Default for ReplayFilter {
    fn default() -> Self {
        Self::dead_letters()
    }
}

impl ReplayFilter {
    /// Every dead-lettered event.
    pub fn dead_letters() -> Self {
        Self {
            states: vec![State::Dead],
            ids: (i64::MIN, i64::MAX),
            received_ms: (i64::MIN, i64::MAX),
            subscription_id: None,
        }
    }

    /// Events in any of these states instead.
    #[must_use]
    pub fn states(mut self, states: &[State]) -> Self {
        self.states = states.to_vec();
        self
    }

    /// Events with an id from `from` to `to`, both included.
    #[must_use]
    pub fn ids(mut self, from: i64, to: i64) -> Self {
        self.ids = (from, to);
        self
    }

    /// Events received from `from` to `to` (milliseconds since the Unix
    /// epoch, both included).
    #[must_use]
    pub fn received_between(mut self, from: i64, to: i64) -> Self {
        self.received_ms = (from, to);
        self
    }

    /// Events of this subscription only.
    #[must_use]
    pub fn subscription(mut self, subscription_id: i64) -> Self {
        self.subscription_id = Some(subscription_id);
        self
    }
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for a worker, or for its next attempt, or being handled.
    Pending,
    /// Handled: the handler succeeded.
    Done,
    /// Not handed to the handler: a stale or duplicate version.
    Skipped,
    /// Failed too often or for too long; kept for [`Inbox::replay`].
    Dead,
}

impl State {
    /// The name in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }

    /// The state named `name` (`pending`, `done`, `skipped`, `dead`).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Done, Self::Skipped, Self::Dead]
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// A column's value; anything unknown is treated as pending.
    fn parse(name: &str) -> Self {
        Self::from_name(name).unwrap_or(Self::Pending)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored event, as [`Inbox::list`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// The row's id (arrival order).
    pub id: i64,
    /// `SUBJECT:ID`.
    pub object_key: String,
    /// The object version, if the payload carries one.
    pub version: Option<i64>,
    /// Whether the event is a deletion.
    pub deleted: bool,
    /// The delivery's `idempotency-key`.
    pub idempotency_key: Option<String>,
    /// The subscription it came through.
    pub subscription_id: Option<i64>,
    /// The event type (`product.update`).
    pub event: String,
    /// The request path it arrived at.
    pub path: String,
    /// When it was received (ms since the Unix epoch).
    pub received_ms: i64,
    /// Its state.
    pub state: State,
    /// Attempts so far.
    pub attempts: i64,
    /// When it may next be tried (ms since the Unix epoch).
    pub next_attempt_ms: i64,
    /// Until when a worker holds it (renewed while its handler runs), if one does.
    pub claimed_until_ms: Option<i64>,
    /// When it was finished, if it was.
    pub finished_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// An event a worker claimed.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    pub(crate) object_key: String,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) path: String,
    pub(crate) body: String,
    pub(crate) received_ms: i64,
    pub(crate) attempts: i64,
    pub(crate) forced: bool,
}

/// The inbox's database failed, or cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The database failed.
    #[error("inbox database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL names no database this build supports.
    #[error("no inbox database for `{0}:` URLs in this build (sqlite, postgres)")]
    UnsupportedUrl(String),
}

impl From<InboxError> for crate::StoreError {
    fn from(error: InboxError) -> Self {
        Self::new(BoxError::from(error))
    }
}
