//! Storage: one trait, so the HTTP layer and the dispatcher never see SQL.
//!
//! One SQL implementation ([`sql::SqlStore`]) serves both engines: SQLite
//! ([`SqliteStore`]) is the default, embedded in a file or in memory;
//! PostgreSQL ([`PgStore`]) lets several server processes share one database.
//! Every write that changes an object also writes its outbox rows (one per
//! matching ACTIVE subscription) in the same transaction, so a crash can
//! never separate a change from its webhooks; the writes of one API call
//! (an object with its new sub-objects, a bulk call's objects) are one
//! transaction too ([`Store::write_objects`]).

mod bodies;
pub(crate) mod outbox;
mod postgres;
mod rows;
mod session_cache;
mod sql;
mod sqlite;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Map, Value};
use time::Date;
use tripletex_webhooks_types::{
    Change, EventType, NewSubscription, SubscriptionStatus, SubscriptionUpdate,
};

pub(crate) use outbox::Outbox;
pub(crate) use postgres::PgStore;
pub(crate) use sqlite::SqliteStore;

/// Why a storage operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or belongs to another company).
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of object.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// The caller's `version` is not the stored one.
    #[error("{what} {id} is at version {actual}, not {expected}")]
    Conflict {
        /// What kind of object.
        what: &'static str,
        /// Its id.
        id: i64,
        /// The version the caller sent.
        expected: i32,
        /// The stored version.
        actual: i32,
    },
    /// The database cannot be reached (down, restarting, or every
    /// connection busy): worth trying again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error("database error: {0}")]
    Backend(String),
    /// A row's deflated JSON (an object's body, an attempt's exchange)
    /// does not read back.
    #[error("the stored {what} {id} does not read: {reason}")]
    Unreadable {
        /// What the row is: `object` or `attempt`.
        what: &'static str,
        /// Its id.
        id: i64,
        /// What is wrong with it.
        reason: BodyError,
    },
}

/// Why a row's deflated JSON does not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// It names a dictionary the database does not hold.
    #[error("it was compressed with dictionary {0}, which is not stored")]
    UnknownDictionary(i64),
    /// It is not a DEFLATE stream (with its dictionary).
    #[error("inflating it: {0}")]
    Inflate(String),
    /// It inflates to something other than a JSON object.
    #[error("decoding its JSON: {0}")]
    Json(String),
}

impl From<sqlx::Error> for StoreError {
    /// [`StoreError::Unavailable`] where `error` says the database is out of
    /// reach rather than that the statement failed: no connection, or
    /// PostgreSQL's connection exceptions (SQLSTATE class 08) and shutdown or
    /// restart (class 57P).
    fn from(error: sqlx::Error) -> Self {
        let unavailable = match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(database) => database
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
            _ => false,
        };
        if unavailable {
            Self::Unavailable(error.to_string())
        } else {
            Self::Backend(error.to_string())
        }
    }
}

impl StoreError {
    /// Whether a row names a dictionary this process has not loaded.
    pub(crate) fn names_unknown_dictionary(&self) -> bool {
        matches!(
            self,
            Self::Unreadable {
                reason: BodyError::UnknownDictionary(_),
                ..
            }
        )
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Backend(format!("migration failed: {error}"))
    }
}

/// Shorthand for storage results.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// A company: one per configured employee token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Company {
    /// The company id (also accepted as the Basic-auth username).
    pub(crate) id: i64,
    /// The employee who owns the token.
    pub(crate) employee_id: i64,
}

/// A session token's record; the token itself is only stored as a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The session's id.
    pub(crate) id: i64,
    /// The company it authenticates for.
    pub(crate) company: Company,
    /// The date it was created to expire on.
    pub(crate) expiration_date: Date,
    /// When it stops working: midnight (UTC) starting `expiration_date`, in ms.
    pub(crate) expires_at_ms: i64,
}

/// A subscription as stored, secrets included (they are needed for delivery).
#[derive(Debug, Clone)]
pub(crate) struct SubscriptionRecord {
    /// Its id.
    pub(crate) id: i64,
    /// Its revision.
    pub(crate) version: i32,
    /// The event it delivers.
    pub(crate) event: EventType,
    /// Where callbacks go.
    pub(crate) target_url: String,
    /// The `fields` filter for payloads.
    pub(crate) fields: Option<String>,
    /// Its status.
    pub(crate) status: SubscriptionStatus,
    /// Custom auth header name.
    pub(crate) auth_header_name: Option<String>,
    /// Custom auth header value (write-only on the API).
    pub(crate) auth_header_value: Option<SecretString>,
    /// HMAC secret (write-only on the API).
    pub(crate) hmac_shared_secret: Option<SecretString>,
    /// Its change log.
    pub(crate) changes: Vec<Change>,
    /// When its current streak of failed deliveries began (ms, server
    /// clock); `None` while its last delivery succeeded.
    pub(crate) failing_since_ms: Option<i64>,
}

/// A stored object of one of the resources (product, order, ...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectRecord {
    /// Its id, unique across all resources.
    pub(crate) id: i64,
    /// The resource path, e.g. `product` or `ledger/account`.
    pub(crate) resource: String,
    /// Its version: 0 on create, +1 per change (a delete is a change too).
    pub(crate) version: i32,
    /// Its fields, without `id`, `version`, `url` and `changes`.
    pub(crate) body: Map<String, Value>,
    /// Its change log.
    pub(crate) changes: Vec<Change>,
}

/// A page of a list, with the size of the whole result and its digest.
#[derive(Debug, Clone)]
pub(crate) struct Page<T> {
    /// The values of this page.
    pub(crate) values: Vec<T>,
    /// How many values the whole result has.
    pub(crate) total: i64,
    /// A digest of the whole result (ids and versions); changes whenever any value does.
    pub(crate) digest: Option<String>,
}

/// The write side of a change: who made it, when, and in which request.
#[derive(Debug, Clone)]
pub(crate) struct WriteContext<'a> {
    /// The company.
    pub(crate) company: Company,
    /// Now, from the server clock, in ms.
    pub(crate) now_ms: i64,
    /// The `x-tlx-request-id` of the API call that made the change, kept on
    /// its outbox rows.
    pub(crate) request_id: Option<&'a str>,
}

/// One object's write in a batch ([`Store::write_objects`]).
#[derive(Debug, Clone)]
pub(crate) struct ObjectWrite {
    /// The resource path of the object, e.g. `order`.
    pub(crate) resource: &'static str,
    /// What the write does.
    pub(crate) kind: WriteKind,
    /// Events it emits (each becomes one outbox row per matching ACTIVE
    /// subscription).
    pub(crate) emits: Vec<EventType>,
}

/// What a write does to its object.
#[derive(Debug, Clone)]
pub(crate) enum WriteKind {
    /// Creates it (version 0).
    Create(Fields),
    /// Merges fields into a live object (version + 1); refused when
    /// `expected_version` is stale.
    Update {
        /// The object's id.
        id: i64,
        /// The version the caller last saw, if it sent one.
        expected_version: Option<i32>,
        /// The fields merged in.
        fields: Fields,
    },
    /// Deletes a live object (a tombstone at version + 1).
    Delete {
        /// The object's id.
        id: i64,
    },
}

/// The fields a create or update writes, with the sub-objects created with it.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    /// The fields, without the new items of their lists.
    pub(crate) values: Map<String, Value>,
    /// The sub-objects to create; each one's stub goes into its list.
    pub(crate) items: Vec<NewItem>,
}

/// A sub-object created with its parent (an order's new order line), which
/// emits no events of its own.
#[derive(Debug, Clone)]
pub(crate) struct NewItem {
    /// Its resource path, e.g. `order/orderline`.
    pub(crate) resource: &'static str,
    /// The parent's list field it is listed in, e.g. `orderLines`.
    pub(crate) field: String,
    /// Its position in that list, counting the other items.
    pub(crate) index: usize,
    /// Its field that points back to the parent, e.g. `order`.
    pub(crate) back: &'static str,
    /// Its fields.
    pub(crate) body: Map<String, Value>,
}

/// Storage for the server.
#[async_trait]
pub(crate) trait Store: Send + Sync + 'static {
    /// Runs a query that touches no data: whether the database answers now.
    async fn ping(&self) -> StoreResult<()>;

    /// The company of an employee token (by digest), created on first use.
    async fn ensure_company(&self, employee_token_digest: &str) -> StoreResult<Company>;

    /// Stores a new session token (by digest).
    async fn create_session(
        &self,
        token_digest: &str,
        company: Company,
        expiration_date: Date,
        expires_at_ms: i64,
    ) -> StoreResult<Session>;
    /// Finds a session token by digest.
    async fn find_session(&self, token_digest: &str) -> StoreResult<Option<Session>>;
    /// Deletes a session token; whether it existed.
    async fn delete_session(&self, token_digest: &str) -> StoreResult<bool>;

    /// All subscriptions of a company, by id.
    async fn list_subscriptions(&self, company_id: i64) -> StoreResult<Vec<SubscriptionRecord>>;
    /// One subscription of a company.
    async fn get_subscription(
        &self,
        company_id: i64,
        id: i64,
    ) -> StoreResult<Option<SubscriptionRecord>>;
    /// Creates subscriptions, all or none.
    async fn insert_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        subscriptions: Vec<NewSubscription>,
    ) -> StoreResult<Vec<SubscriptionRecord>>;
    /// Applies partial updates, all or none; each bumps the version and is
    /// refused with [`StoreError::Conflict`] when its `version` is stale.
    async fn update_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        updates: Vec<(i64, SubscriptionUpdate)>,
    ) -> StoreResult<Vec<SubscriptionRecord>>;
    /// Deletes subscriptions, all or none (and their pending deliveries).
    async fn delete_subscriptions(&self, company_id: i64, ids: &[i64]) -> StoreResult<()>;

    /// Executes writes in one transaction, all or none: each one's new
    /// sub-objects, its own change and its outbox rows. Returns each write's
    /// object as stored, in order.
    async fn write_objects(
        &self,
        ctx: WriteContext<'_>,
        writes: Vec<ObjectWrite>,
    ) -> StoreResult<Vec<ObjectRecord>>;
    /// One live object.
    async fn get_object(
        &self,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>>;
    /// A page of a resource's live objects, by id.
    async fn list_objects(
        &self,
        company_id: i64,
        resource: &str,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<ObjectRecord>>;

    /// Writes outbox rows for `emits` about an object that is not stored
    /// (emulator API); returns how many messages it enqueued.
    async fn emit_event(
        &self,
        ctx: WriteContext<'_>,
        emits: &[EventType],
        object_id: i64,
        value: Option<&Value>,
    ) -> StoreResult<u64>;

    /// Deletes every object, subscription and message of a company.
    async fn reset_company(&self, company_id: i64) -> StoreResult<()>;

    /// How far the emulator clock was last saved ahead of real time (ms).
    async fn clock_offset(&self) -> StoreResult<i64>;
    /// Saves the emulator clock's offset (ms); a smaller one than the saved
    /// one is ignored, as the clock only moves forward.
    async fn save_clock_offset(&self, offset_ms: i64) -> StoreResult<()>;
}
