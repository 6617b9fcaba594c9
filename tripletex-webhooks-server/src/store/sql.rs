//! The store, once for every engine: [`SqlStore`] implements [`Store`] (and
//! the [`Outbox`](super::Outbox), in [`outbox`]) with statements written
//! once, with `$N` placeholders (SQLite accepts them too); a [`Backend`]
//! supplies only what the engines do differently.

mod outbox;
mod writer;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Transaction, Type};
use time::Date;
use tokio::sync::Notify;
use tripletex_webhooks_types::{
    ChangeType, EventType, NewSubscription, SubscriptionStatus, SubscriptionUpdate,
};

use super::bodies::{Dictionaries, StoredDictionary, current_dictionaries, digest};
use super::rows::{
    Column, Columns, OBJECT_COLUMNS, SUBSCRIPTION_COLUMNS, apply_update, change, expose,
    object_from_row, subscription_from_row, to_json,
};
use super::{
    Company, Fields, ObjectRecord, ObjectWrite, Page, Session, Store, StoreError, StoreResult,
    SubscriptionRecord, WriteContext, WriteKind,
};
use crate::domain::object::{object_url, render};
use crate::store::outbox::lease_now_ms;
use crate::store::session_cache::SessionCache;

/// What differs between the engines the store runs on. Sealed: SQLite and
/// PostgreSQL are the engines whose dialects the statements keep to.
pub(crate) trait Backend:
    Database<Row: Columns> + for<'q> Arguments<'q> + sealed::Sealed
{
    /// What the engine's hooks keep between writes.
    type Hooks: Debug + Send + Sync;
    /// Ends the claim's candidate query where the engine locks candidates
    /// until the claim commits (skipping those another process is claiming);
    /// without one, candidates are read from a reader before the claim's
    /// transaction begins, and the single writer serialises claims.
    const CLAIM_LOCK: Option<&'static str>;
    /// The JSON array bound as `$1`, as rows of one column, `value`.
    const JSON_ROWS: &'static str;
    /// The blob whose hex digits are the text `value->>'exchange'` of a
    /// row of [`Backend::JSON_ROWS`] (`NULL` for `NULL`).
    const UNHEX_EXCHANGE: &'static str;
    /// A new idempotency key of a message enqueued at `$7` (ms): 12 hex
    /// digits of that time, then 80 random bits (see [`SqlStore::enqueue`]).
    const IDEMPOTENCY_KEY: &'static str;
    /// The statement that makes the rest of a transaction read one snapshot,
    /// where a transaction does not already.
    const SNAPSHOT: Option<&'static str>;
    /// Whether one process owns the database, so that leases found at
    /// start-up belong to a process that died, and every change of a session
    /// passes through this process (which keeps them in memory).
    const SINGLE_PROCESS: bool;
    /// Whether writes queued together commit in one transaction (see
    /// [`writer`]): where one connection serialises every write anyway.
    const GROUP_COMMIT: bool;

    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// Runs after a commit that enqueued `queued` (> 0) messages; by default
    /// nothing.
    fn after_enqueue(_hooks: &Self::Hooks, _writer: &Pool<Self>, _queued: u64) {}
}

/// Every `'q` of a backend's arguments can be passed to a query. A
/// supertrait, so that [`Backend`] implies it wherever it is named.
pub(crate) trait Arguments<'q>: Database<Arguments<'q>: IntoArguments<'q, Self>> {}

impl<'q, DB: Database> Arguments<'q> for DB where DB::Arguments<'q>: IntoArguments<'q, DB> {}

pub(super) mod sealed {
    /// Keeps [`Backend`](super::Backend) to the engines of this crate.
    pub(crate) trait Sealed {}
}

/// The SQL store of one engine (see [`SqliteStore`](super::SqliteStore) and
/// [`PgStore`](super::PgStore)).
#[derive(Debug)]
pub(crate) struct SqlStore<DB: Backend> {
    /// Every write goes through this pool (on SQLite one connection, so
    /// writers never race for its lock).
    pub(super) writer: Pool<DB>,
    /// Runs the writes that need a transaction, on `writer`.
    transactions: writer::Writer<DB>,
    /// Reads that may run beside the writer (on PostgreSQL the same pool).
    reader: Pool<DB>,
    /// What the engine's hooks keep.
    pub(super) hooks: DB::Hooks,
    url_base: Arc<str>,
    /// The dictionaries object bodies are compressed with.
    dictionaries: Arc<Dictionaries>,
    /// Notified after every commit of this process that may have enqueued
    /// messages (other processes find them by polling).
    enqueued: Arc<Notify>,
    /// Sessions in memory, where one process owns the database.
    sessions: Option<SessionCache>,
}

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    /// A store over migrated pools (`url_base` as its engine's `connect`
    /// takes it), with the body dictionaries of this build stored.
    pub(super) async fn open(
        writer: Pool<DB>,
        reader: Pool<DB>,
        hooks: DB::Hooks,
        url_base: impl Into<String>,
    ) -> StoreResult<Self> {
        let dictionaries = Self::load_dictionaries(&writer).await?;
        let transactions = if DB::GROUP_COMMIT {
            writer::Writer::grouped(writer.clone())
        } else {
            writer::Writer::each_alone(writer.clone())
        };
        Ok(Self {
            writer,
            transactions,
            reader,
            hooks,
            url_base: url_base.into().into(),
            dictionaries: Arc::new(dictionaries),
            enqueued: Arc::default(),
            sessions: DB::SINGLE_PROCESS.then(SessionCache::default),
        })
    }

    /// Stores the current body dictionaries where they are missing, then
    /// reads every stored one: rows compressed with an older one still read.
    async fn load_dictionaries(writer: &Pool<DB>) -> StoreResult<Dictionaries> {
        let current = current_dictionaries();
        for (resource, bytes) in &current {
            sqlx::query(
                "INSERT INTO body_dictionaries (resource, digest, dictionary) VALUES ($1, $2, $3) \
                 ON CONFLICT (resource, digest) DO NOTHING",
            )
            .bind(resource.as_str())
            .bind(digest(bytes).as_str())
            .bind(bytes.clone())
            .execute(writer)
            .await?;
        }
        let stored = Self::stored_dictionaries(writer).await?;
        Ok(Dictionaries::new(stored, &current))
    }

    /// Every stored dictionary (a few dozen rows).
    async fn stored_dictionaries(pool: &Pool<DB>) -> StoreResult<Vec<StoredDictionary>> {
        sqlx::query("SELECT id, resource, digest, dictionary FROM body_dictionaries")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(StoredDictionary {
                    id: row.read("id")?,
                    resource: row.read("resource")?,
                    digest: row.read("digest")?,
                    bytes: row.read("dictionary")?,
                })
            })
            .collect()
    }

    /// Runs `read`, and once more if it met a dictionary this process does
    /// not know, after loading those stored since it started: a newer
    /// release sharing the database (PostgreSQL) stores its own and writes
    /// rows with them while this one still runs.
    async fn knowing_dictionaries<T, Fut>(&self, read: impl Fn() -> Fut) -> StoreResult<T>
    where
        Fut: Future<Output = StoreResult<T>>,
    {
        match read().await {
            Err(error) if error.names_unknown_dictionary() => {
                self.load_new_dictionaries().await?;
                read().await
            }
            result => result,
        }
    }

    /// Loads the dictionaries stored since this process last looked (all
    /// of them: ids are not committed in their order, so none is skipped).
    async fn load_new_dictionaries(&self) -> StoreResult<()> {
        let stored = Self::stored_dictionaries(&self.reader).await?;
        self.dictionaries.add(stored);
        Ok(())
    }

    /// Wakes the local dispatcher and runs the engine's hooks after a commit.
    fn after_enqueue(&self, queued: u64) {
        if queued > 0 {
            self.enqueued.notify_one();
            DB::after_enqueue(&self.hooks, &self.writer, queued);
        }
    }

    /// A read transaction on a reader whose statements see one snapshot.
    async fn snapshot(&self) -> StoreResult<Transaction<'static, DB>> {
        let mut tx = self.reader.begin().await?;
        if let Some(snapshot) = DB::SNAPSHOT {
            sqlx::query(snapshot).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// The row `query` finds, if any, decoded.
    async fn optional<'q, T>(
        conn: &mut DB::Connection,
        query: Query<'q, DB, DB::Arguments<'q>>,
        decode: impl Fn(&DB::Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        query
            .fetch_optional(conn)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    /// [`Store::write_objects`], once.
    async fn write_objects_once(
        &self,
        ctx: WriteContext<'_>,
        writes: Arc<Vec<ObjectWrite>>,
    ) -> StoreResult<Vec<ObjectRecord>> {
        let (company, now_ms) = (ctx.company, ctx.now_ms);
        let request_id = ctx.request_id.map(str::to_owned);
        let url_base = Arc::clone(&self.url_base);
        let dictionaries = Arc::clone(&self.dictionaries);
        let (records, queued) = self
            .transactions
            .run(move |conn| {
                let (writes, request_id) = ((*writes).clone(), request_id.clone());
                let url_base = Arc::clone(&url_base);
                let dictionaries = Arc::clone(&dictionaries);
                Box::pin(async move {
                    let ctx = WriteContext {
                        company,
                        now_ms,
                        request_id: request_id.as_deref(),
                    };
                    let mut records = Vec::with_capacity(writes.len());
                    let mut queued = 0;
                    for write in writes {
                        let (record, enqueued) =
                            Self::write_object(conn, &url_base, &dictionaries, &ctx, write).await?;
                        records.push(record);
                        queued += enqueued;
                    }
                    Ok((records, queued))
                })
            })
            .await?;
        self.after_enqueue(queued);
        Ok(records)
    }

    /// [`Store::get_object`], once.
    async fn read_object(
        &self,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>> {
        let mut conn = self.reader.acquire().await?;
        Self::live_object(&mut conn, &self.dictionaries, company_id, resource, id).await
    }

    /// [`Store::list_objects`], once.
    async fn read_objects(
        &self,
        company_id: i64,
        resource: &str,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<ObjectRecord>> {
        let mut conn = self.reader.acquire().await?;
        let versions = sqlx::query(
            "SELECT id, version FROM objects \
             WHERE company_id = $1 AND resource = $2 AND deleted = 0 ORDER BY id",
        )
        .bind(company_id)
        .bind(resource)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            let (id, version): (i64, i32) = (row.read("id")?, row.read("version")?);
            Ok(format!("{id}:{version}"))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects \
             WHERE company_id = $1 AND resource = $2 AND deleted = 0 ORDER BY id LIMIT $3 OFFSET $4"
        );
        let values = sqlx::query(&sql)
            .bind(company_id)
            .bind(resource)
            .bind(count)
            .bind(from)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| object_from_row(row, &self.dictionaries))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            values,
            total: i64::try_from(versions.len()).unwrap_or(i64::MAX),
            digest: crate::digest::result_digest(versions),
        })
    }

    /// A session as stored, by token digest.
    async fn read_session(&self, token_digest: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id, s.company_id, c.employee_id, s.expiration_date, s.expires_at_ms \
             FROM sessions s JOIN companies c ON c.id = s.company_id WHERE s.token_digest = $1",
        )
        .bind(token_digest)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let date = row.text("expiration_date")?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Ok(Some(Session {
            id: row.read("id")?,
            company: Company {
                id: row.read("company_id")?,
                employee_id: row.read("employee_id")?,
            },
            expiration_date: Date::parse(date, format)
                .map_err(|e| StoreError::Backend(format!("stored date {date:?}: {e}")))?,
            expires_at_ms: row.read("expires_at_ms")?,
        }))
    }

    /// One subscription of a company.
    async fn subscription(
        conn: &mut DB::Connection,
        company_id: i64,
        id: i64,
    ) -> StoreResult<Option<SubscriptionRecord>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = $1 AND id = $2"
        );
        let query = sqlx::query(&sql).bind(company_id).bind(id);
        Self::optional(conn, query, subscription_from_row).await
    }

    /// One live (not deleted) object of a company.
    async fn live_object(
        conn: &mut DB::Connection,
        dictionaries: &Dictionaries,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects \
             WHERE company_id = $1 AND resource = $2 AND id = $3 AND deleted = 0"
        );
        let query = sqlx::query(&sql).bind(company_id).bind(resource).bind(id);
        Self::optional(conn, query, |row| object_from_row(row, dictionaries)).await
    }

    /// Writes one outbox row per ACTIVE subscription of the company to each
    /// of `emits`; returns how many.
    ///
    /// Idempotency keys grow with time: they land at the right edge of their
    /// unique index, where fully random ones would touch a random page of it
    /// per message, which is slow once millions of messages wait (see the
    /// backlog benchmark).
    async fn enqueue(
        conn: &mut DB::Connection,
        ctx: &WriteContext<'_>,
        emits: &[EventType],
        object_id: i64,
        object_version: Option<i32>,
        payload: Payload<'_>,
    ) -> StoreResult<u64> {
        let sql = format!(
            "INSERT INTO messages (company_id, subscription_id, event, subject, object_id, \
                 object_version, payload, idempotency_key, status, attempts, next_attempt_at_ms, \
                 created_at_ms, request_id, payload_in_object) \
             SELECT $1, s.id, $2, $3, $4, $5, $6, {}, 'pending', 0, $7, $7, $8, $9 \
             FROM subscriptions s WHERE s.company_id = $1 AND s.event = $2 AND s.status = 'ACTIVE'",
            DB::IDEMPOTENCY_KEY
        );
        let (text, in_object) = match payload {
            Payload::Absent => (None, false),
            Payload::Copied(text) => (Some(text), false),
            Payload::InObject => (None, true),
        };
        let (company_id, now_ms) = (ctx.company.id, ctx.now_ms);
        let mut queued = 0;
        for event in emits {
            let event_name = event.to_string();
            let result = sqlx::query(&sql)
                .bind(company_id)
                .bind(event_name.as_str())
                .bind(event.subject().as_str())
                .bind(object_id)
                .bind(object_version.map(i64::from))
                .bind(text)
                .bind(now_ms)
                .bind(ctx.request_id)
                .bind(i64::from(in_object))
                .execute(&mut *conn)
                .await?;
            queued += DB::rows_affected(&result);
            // The older pending versions for the same subscriptions that are
            // not in flight are replaced by the new one.
            if object_version.is_some_and(|v| v > 0) {
                sqlx::query(
                    "UPDATE messages SET status = 'superseded', finished_at_ms = $1 \
                     WHERE subscription_id IN (SELECT id FROM subscriptions \
                                               WHERE company_id = $2 AND event = $3) \
                       AND subject = $6 AND object_id = $4 AND status = 'pending' \
                       AND object_version < $5 AND (lease_until_ms IS NULL OR lease_until_ms <= $7)",
                )
                .bind(now_ms)
                .bind(company_id)
                .bind(event_name.as_str())
                .bind(object_id)
                .bind(object_version.map(i64::from))
                .bind(event.subject().as_str())
                .bind(lease_now_ms())
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(queued)
    }

    /// Closes the pending, unleased messages of a subscription that is no
    /// longer ACTIVE. Runs when its status changes; recording a batch of
    /// failures does the same (a message that was in flight at the change is
    /// closed when its outcome comes).
    async fn close_if_inactive(
        conn: &mut DB::Connection,
        subscription_id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE messages SET status = 'failed', last_error = 'subscription not active', \
                 finished_at_ms = $1, lease_until_ms = NULL \
             WHERE subscription_id = $2 AND status = 'pending' \
               AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
               AND (SELECT status FROM subscriptions WHERE id = $2) != 'ACTIVE'",
        )
        .bind(now_ms)
        .bind(subscription_id)
        .bind(lease_now_ms())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Executes one write of a batch on the batch's transaction; returns
    /// the object as stored and how many messages it enqueued.
    async fn write_object(
        conn: &mut DB::Connection,
        url_base: &str,
        dictionaries: &Dictionaries,
        ctx: &WriteContext<'_>,
        write: ObjectWrite,
    ) -> StoreResult<(ObjectRecord, u64)> {
        let deleted = matches!(write.kind, WriteKind::Delete { .. });
        let (record, items) = match write.kind {
            WriteKind::Create(fields) => {
                let (values, items) =
                    Self::create_items(conn, url_base, dictionaries, ctx, fields).await?;
                let record =
                    Self::insert_object(conn, dictionaries, ctx, write.resource, values).await?;
                (record, items)
            }
            WriteKind::Update {
                id,
                expected_version,
                fields,
            } => {
                let mut record = Self::checked_live(
                    conn,
                    dictionaries,
                    ctx,
                    write.resource,
                    id,
                    expected_version,
                )
                .await?;
                Self::preserve_payloads(conn, url_base, &record).await?;
                let (values, items) =
                    Self::create_items(conn, url_base, dictionaries, ctx, fields).await?;
                record.body.extend(values);
                Self::save_change(conn, dictionaries, ctx, &mut record, ChangeType::Update).await?;
                (record, items)
            }
            WriteKind::Delete { id } => {
                let mut record =
                    Self::checked_live(conn, dictionaries, ctx, write.resource, id, None).await?;
                Self::preserve_payloads(conn, url_base, &record).await?;
                Self::save_change(conn, dictionaries, ctx, &mut record, ChangeType::Delete).await?;
                (record, Vec::new())
            }
        };
        Self::link_back(conn, url_base, dictionaries, &record, items).await?;
        let payload = if deleted {
            Payload::Absent
        } else {
            Payload::InObject
        };
        let (id, version) = (record.id, Some(record.version));
        let queued = Self::enqueue(conn, ctx, &write.emits, id, version, payload).await?;
        Ok((record, queued))
    }

    /// Copies the rendering of `record`, about to be replaced, into the
    /// messages that take their payload from its stored body, so that they
    /// still deliver the object as of their event.
    async fn preserve_payloads(
        conn: &mut DB::Connection,
        url_base: &str,
        record: &ObjectRecord,
    ) -> StoreResult<()> {
        let version = i64::from(record.version);
        let referenced = sqlx::query(
            "SELECT 1 AS one FROM messages \
             WHERE object_id = $1 AND object_version = $2 AND payload_in_object = 1 LIMIT 1",
        )
        .bind(record.id)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?;
        if referenced.is_none() {
            return Ok(());
        }
        let payload = to_json(&render(record, url_base))?;
        sqlx::query(
            "UPDATE messages SET payload = $1, payload_in_object = 0 \
             WHERE object_id = $2 AND object_version = $3 AND payload_in_object = 1",
        )
        .bind(payload.as_str())
        .bind(record.id)
        .bind(version)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Inserts a new object at version 0 with its first change, emitting nothing.
    async fn insert_object(
        conn: &mut DB::Connection,
        dictionaries: &Dictionaries,
        ctx: &WriteContext<'_>,
        resource: &str,
        body: Map<String, Value>,
    ) -> StoreResult<ObjectRecord> {
        let changes = vec![change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Create,
        )];
        let packed = dictionaries.pack(resource, &(&body, &changes))?;
        let row = sqlx::query(
            "INSERT INTO objects (company_id, resource, version, body, body_deflated, \
                 body_dictionary, changes, updated_at_ms) \
             VALUES ($1, $2, 0, '', $3, $4, '', $5) RETURNING id",
        )
        .bind(ctx.company.id)
        .bind(resource)
        .bind(packed.deflated)
        .bind(packed.dictionary)
        .bind(ctx.now_ms)
        .fetch_one(&mut *conn)
        .await?;
        Ok(ObjectRecord {
            id: row.read("id")?,
            resource: resource.to_owned(),
            version: 0,
            body,
            changes,
        })
    }

    /// Inserts the new items of `fields` and puts their stubs into their
    /// lists; returns the fields to write and the items, to point back at
    /// their parent once it is written.
    async fn create_items(
        conn: &mut DB::Connection,
        url_base: &str,
        dictionaries: &Dictionaries,
        ctx: &WriteContext<'_>,
        fields: Fields,
    ) -> StoreResult<(Map<String, Value>, Vec<(ObjectRecord, &'static str)>)> {
        let (mut values, mut items) = (fields.values, fields.items);
        // In order of position, so that each stub lands where its item was.
        items.sort_by_key(|item| item.index);
        let mut created = Vec::with_capacity(items.len());
        for item in items {
            let record =
                Self::insert_object(conn, dictionaries, ctx, item.resource, item.body).await?;
            let stub = stub(url_base, item.resource, record.id);
            insert_stub(&mut values, item.field, item.index, stub);
            created.push((record, item.back));
        }
        Ok((values, created))
    }

    /// Points each sub-object created with `parent` back at it: part of
    /// their creation, so neither version nor change log moves.
    async fn link_back(
        conn: &mut DB::Connection,
        url_base: &str,
        dictionaries: &Dictionaries,
        parent: &ObjectRecord,
        items: Vec<(ObjectRecord, &'static str)>,
    ) -> StoreResult<()> {
        for (mut item, back) in items {
            let stub = stub(url_base, &parent.resource, parent.id);
            item.body.insert(back.to_owned(), stub);
            let packed = dictionaries.pack(&item.resource, &(&item.body, &item.changes))?;
            sqlx::query(
                "UPDATE objects SET body = '', body_deflated = $1, body_dictionary = $2, \
                     changes = '' \
                 WHERE id = $3",
            )
            .bind(packed.deflated)
            .bind(packed.dictionary)
            .bind(item.id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// A live object of the company, refused when `expected_version` is stale.
    async fn checked_live(
        conn: &mut DB::Connection,
        dictionaries: &Dictionaries,
        ctx: &WriteContext<'_>,
        resource: &str,
        id: i64,
        expected_version: Option<i32>,
    ) -> StoreResult<ObjectRecord> {
        let found = Self::live_object(conn, dictionaries, ctx.company.id, resource, id).await?;
        current(
            "object",
            id,
            found,
            |record| record.version,
            expected_version,
        )
    }

    /// Saves a change of an existing object (an update, or a delete, which
    /// leaves a tombstone): version + 1 and one more entry in its log.
    async fn save_change(
        conn: &mut DB::Connection,
        dictionaries: &Dictionaries,
        ctx: &WriteContext<'_>,
        record: &mut ObjectRecord,
        change_type: ChangeType,
    ) -> StoreResult<()> {
        let deleted = matches!(change_type, ChangeType::Delete);
        record.version += 1;
        record
            .changes
            .push(change(ctx.company.employee_id, ctx.now_ms, change_type));
        let packed = dictionaries.pack(&record.resource, &(&record.body, &record.changes))?;
        sqlx::query(
            "UPDATE objects SET version = $1, body = '', body_deflated = $2, \
                 body_dictionary = $3, changes = '', deleted = $4, updated_at_ms = $5 \
             WHERE id = $6",
        )
        .bind(i64::from(record.version))
        .bind(packed.deflated)
        .bind(packed.dictionary)
        .bind(i64::from(deleted))
        .bind(ctx.now_ms)
        .bind(record.id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Writes one subscription's partial update, refused when its `version` is stale.
    async fn update_subscription(
        tx: &mut DB::Connection,
        company: Company,
        now_ms: i64,
        id: i64,
        update: SubscriptionUpdate,
    ) -> StoreResult<SubscriptionRecord> {
        let found = Self::subscription(tx, company.id, id).await?;
        let mut record = current("subscription", id, found, |s| s.version, update.version)?;
        let reactivated = update
            .status
            .as_ref()
            .is_some_and(SubscriptionStatus::is_active)
            && !record.status.is_active();
        apply_update(&mut record, update);
        record.version += 1;
        record
            .changes
            .push(change(company.employee_id, now_ms, ChangeType::Update));
        sqlx::query(
            "UPDATE subscriptions SET version = $1, event = $2, target_url = $3, fields = $4, \
                 status = $5, auth_header_name = $6, auth_header_value = $7, \
                 hmac_shared_secret = $8, changes = $9, updated_at_ms = $10, \
                 failing_since_ms = CASE WHEN $11 = 1 THEN NULL ELSE failing_since_ms END \
             WHERE id = $12",
        )
        .bind(i64::from(record.version))
        .bind(record.event.to_string().as_str())
        .bind(record.target_url.as_str())
        .bind(record.fields.as_deref())
        .bind(record.status.as_str())
        .bind(record.auth_header_name.as_deref())
        .bind(expose(record.auth_header_value.as_ref()))
        .bind(expose(record.hmac_shared_secret.as_ref()))
        .bind(to_json(&record.changes)?.as_str())
        .bind(now_ms)
        .bind(i64::from(reactivated))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if !record.status.is_active() {
            Self::close_if_inactive(tx, id, now_ms).await?;
        }
        Ok(record)
    }
}

/// Where a new message's payload is.
#[derive(Debug, Clone, Copy)]
enum Payload<'a> {
    /// It has none (deletes).
    Absent,
    /// This JSON, copied into the message (an object that is not stored).
    Copied(&'a str),
    /// Its object's stored body at the message's version: nothing is copied
    /// until a write replaces that version ([`SqlStore::preserve_payloads`]).
    InObject,
}

/// The stored `found`, refused when missing or when `expected` is not its
/// `version`; `what` names it in the error.
fn current<T>(
    what: &'static str,
    id: i64,
    found: Option<T>,
    version: fn(&T) -> i32,
    expected: Option<i32>,
) -> StoreResult<T> {
    let found = found.ok_or(StoreError::NotFound { what, id })?;
    let actual = version(&found);
    match expected.filter(|v| *v != actual) {
        Some(expected) => Err(StoreError::Conflict {
            what,
            id,
            expected,
            actual,
        }),
        None => Ok(found),
    }
}

/// The `{id, url}` reference to an object.
fn stub(url_base: &str, resource: &str, id: i64) -> Value {
    serde_json::json!({"id": id, "url": object_url(url_base, resource, id)})
}

/// Puts a new item's stub into its parent's list at its position (at the
/// end when the list is shorter), making the field a list if it is not one.
fn insert_stub(values: &mut Map<String, Value>, field: String, index: usize, stub: Value) {
    let list = values.entry(field).or_insert(Value::Null);
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Value::Array(items) = list {
        items.insert(index.min(items.len()), stub);
    }
}

#[async_trait]
impl<DB: Backend> Store for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    async fn ping(&self) -> StoreResult<()> {
        // Through the writer: it is the connection every change needs.
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    async fn ensure_company(&self, employee_token_digest: &str) -> StoreResult<Company> {
        // Processes starting together may race to create the same company.
        sqlx::query(
            "INSERT INTO companies (employee_token_digest, employee_id) VALUES ($1, 0) \
             ON CONFLICT (employee_token_digest) DO NOTHING",
        )
        .bind(employee_token_digest)
        .execute(&self.writer)
        .await?;
        // Employee ids are distinct from company ids, as in Tripletex.
        let row = sqlx::query(
            "UPDATE companies SET employee_id = CASE WHEN employee_id = 0 THEN 1000 + id \
                 ELSE employee_id END \
             WHERE employee_token_digest = $1 RETURNING id, employee_id",
        )
        .bind(employee_token_digest)
        .fetch_one(&self.writer)
        .await?;
        Ok(Company {
            id: row.read("id")?,
            employee_id: row.read("employee_id")?,
        })
    }

    async fn create_session(
        &self,
        token_digest: &str,
        company: Company,
        expiration_date: Date,
        expires_at_ms: i64,
    ) -> StoreResult<Session> {
        let row = sqlx::query(
            "INSERT INTO sessions (token_digest, company_id, expiration_date, expires_at_ms) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(token_digest)
        .bind(company.id)
        .bind(expiration_date.to_string().as_str())
        .bind(expires_at_ms)
        .fetch_one(&self.writer)
        .await?;
        let session = Session {
            id: row.read("id")?,
            company,
            expiration_date,
            expires_at_ms,
        };
        if let Some(cache) = &self.sessions {
            cache.put(token_digest, session.clone());
        }
        Ok(session)
    }

    async fn find_session(&self, token_digest: &str) -> StoreResult<Option<Session>> {
        let Some(cache) = &self.sessions else {
            return self.read_session(token_digest).await;
        };
        if let Some(session) = cache.get(token_digest) {
            return Ok(Some(session));
        }
        let start = cache.read_start();
        let session = self.read_session(token_digest).await?;
        if let Some(session) = &session {
            cache.put_read(token_digest, session.clone(), start);
        }
        Ok(session)
    }

    async fn delete_session(&self, token_digest: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .execute(&self.writer)
            .await?;
        if let Some(cache) = &self.sessions {
            cache.remove(token_digest);
        }
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn list_subscriptions(&self, company_id: i64) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(company_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(subscription_from_row)
            .collect()
    }

    async fn get_subscription(
        &self,
        company_id: i64,
        id: i64,
    ) -> StoreResult<Option<SubscriptionRecord>> {
        let mut conn = self.reader.acquire().await?;
        Self::subscription(&mut conn, company_id, id).await
    }

    async fn insert_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        subscriptions: Vec<NewSubscription>,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!(
            "INSERT INTO subscriptions (company_id, version, event, target_url, fields, status, \
                 auth_header_name, auth_header_value, hmac_shared_secret, changes, \
                 created_at_ms, updated_at_ms) \
             VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING {SUBSCRIPTION_COLUMNS}"
        );
        let changes = to_json(&[change(company.employee_id, now_ms, ChangeType::Create)])?;
        let mut tx = self.writer.begin().await?;
        let mut created = Vec::with_capacity(subscriptions.len());
        for new in subscriptions {
            let status = new.status.unwrap_or(SubscriptionStatus::Active);
            let row = sqlx::query(&sql)
                .bind(company.id)
                .bind(new.event.to_string().as_str())
                .bind(new.target_url.as_str())
                .bind(new.fields.as_deref().filter(|f| !f.is_empty()))
                .bind(status.as_str())
                .bind(new.auth_header_name.as_deref())
                .bind(expose(new.auth_header_value.as_ref()))
                .bind(expose(new.hmac_shared_secret.as_ref()))
                .bind(changes.as_str())
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
            created.push(subscription_from_row(&row)?);
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn update_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        updates: Vec<(i64, SubscriptionUpdate)>,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let mut tx = self.writer.begin().await?;
        let mut records = Vec::with_capacity(updates.len());
        for (id, update) in updates {
            records.push(Self::update_subscription(&mut tx, company, now_ms, id, update).await?);
        }
        tx.commit().await?;
        Ok(records)
    }

    async fn delete_subscriptions(&self, company_id: i64, ids: &[i64]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for id in ids.iter().copied().collect::<BTreeSet<_>>() {
            // Messages first, then the subscription: the order in which
            // recording an outcome locks them, so the two never deadlock.
            sqlx::query("DELETE FROM messages WHERE company_id = $1 AND subscription_id = $2")
                .bind(company_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let deleted =
                sqlx::query("DELETE FROM subscriptions WHERE company_id = $1 AND id = $2")
                    .bind(company_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            if DB::rows_affected(&deleted) == 0 {
                return Err(StoreError::NotFound {
                    what: "subscription",
                    id,
                });
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn write_objects(
        &self,
        ctx: WriteContext<'_>,
        writes: Vec<ObjectWrite>,
    ) -> StoreResult<Vec<ObjectRecord>> {
        let writes = Arc::new(writes);
        self.knowing_dictionaries(|| self.write_objects_once(ctx.clone(), Arc::clone(&writes)))
            .await
    }

    async fn get_object(
        &self,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>> {
        self.knowing_dictionaries(|| self.read_object(company_id, resource, id))
            .await
    }

    async fn list_objects(
        &self,
        company_id: i64,
        resource: &str,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<ObjectRecord>> {
        self.knowing_dictionaries(|| self.read_objects(company_id, resource, from, count))
            .await
    }

    async fn emit_event(
        &self,
        ctx: WriteContext<'_>,
        emits: &[EventType],
        object_id: i64,
        value: Option<&Value>,
    ) -> StoreResult<u64> {
        let payload = value.map(to_json).transpose()?;
        let version = value
            .and_then(|v| v.get("version"))
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok());
        let payload = payload.as_deref().map_or(Payload::Absent, Payload::Copied);
        let mut tx = self.writer.begin().await?;
        let queued = Self::enqueue(&mut tx, &ctx, emits, object_id, version, payload).await?;
        tx.commit().await?;
        self.after_enqueue(queued);
        Ok(queued)
    }

    async fn reset_company(&self, company_id: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for table in ["messages", "objects", "subscriptions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE company_id = $1"))
                .bind(company_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clock_offset(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT offset_ms FROM emulator_clock WHERE id = 1")
            .fetch_one(&self.writer)
            .await?;
        row.read("offset_ms")
    }

    async fn save_clock_offset(&self, offset_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE emulator_clock SET offset_ms = $1 WHERE id = 1 AND offset_ms < $1")
            .bind(offset_ms)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod payload_tests;
#[cfg(test)]
mod tests;
