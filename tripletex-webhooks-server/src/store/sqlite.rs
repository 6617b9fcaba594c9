//! The embedded SQLite store (WAL; one writer connection, several readers).

mod checkpoint;
mod outbox;

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
use time::Date;
use tripletex_webhooks_types::{
    ChangeType, EventType, NewSubscription, SubscriptionStatus, SubscriptionUpdate,
};

use self::checkpoint::Checkpointer;
use super::rows::{
    SUBSCRIPTION_COLUMNS, apply_update, change, expose, object_from_row, subscription_from_row,
    to_json,
};
use super::{
    Company, ObjectRecord, Page, Session, Store, StoreError, StoreResult, SubscriptionRecord,
    WriteContext,
};
use crate::domain::object::render;

/// The SQLite store.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    /// Every write goes through this single connection, so writers never race
    /// for SQLite's lock.
    writer: SqlitePool,
    /// Reads use their own connections (WAL lets them run beside the writer).
    reader: SqlitePool,
    /// Checkpoints the WAL in the background (none in memory); held for its
    /// `Drop`, which stops it with the last clone of the store.
    #[cfg_attr(not(test), allow(dead_code))]
    checkpointer: Option<Arc<Checkpointer>>,
    url_base: String,
    /// Notified after every commit that may have enqueued messages.
    enqueued: std::sync::Arc<tokio::sync::Notify>,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `database_url`
    /// (`sqlite://FILE` or `sqlite::memory:`). `url_base` is the scheme-less
    /// base of `url` fields, e.g. `tripletex.no/v2`.
    pub(crate) async fn connect(
        database_url: &str,
        url_base: impl Into<String>,
    ) -> StoreResult<Self> {
        let memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a process crash (kill -9); only a
            // power loss can drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Commits never checkpoint: the checkpointer does (see its module).
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", checkpoint::WAL_LIMIT.to_string());
        let writer = single_connection_pool(options.clone()).await?;
        // An in-memory database lives and dies with its one connection.
        let reader = if memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.clone().read_only(true))
                .await?
        };
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let checkpointer = if memory {
            None
        } else {
            let mut wal_path = options.get_filename().as_os_str().to_owned();
            wal_path.push("-wal");
            let pool =
                single_connection_pool(options.busy_timeout(checkpoint::BUSY_TIMEOUT)).await?;
            Some(Arc::new(Checkpointer::spawn(
                pool,
                wal_path.into(),
                checkpoint::INTERVAL,
                checkpoint::TRUNCATE_ABOVE,
            )))
        };
        Ok(Self {
            writer,
            reader,
            checkpointer,
            url_base: url_base.into(),
            enqueued: std::sync::Arc::default(),
        })
    }

    /// The pool that writes (also usable for reads that must see the latest write).
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.writer
    }
}

async fn single_connection_pool(options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?)
}

async fn fetch_subscription(
    conn: &mut SqliteConnection,
    company_id: i64,
    id: i64,
) -> StoreResult<Option<SubscriptionRecord>> {
    let sql =
        format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = ? AND id = ?");
    sqlx::query(&sql)
        .bind(company_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(subscription_from_row)
        .transpose()
}

async fn fetch_live_object(
    conn: &mut SqliteConnection,
    company_id: i64,
    resource: &str,
    id: i64,
) -> StoreResult<Option<ObjectRecord>> {
    sqlx::query(
        "SELECT id, resource, version, body, changes FROM objects \
         WHERE company_id = ? AND resource = ? AND id = ? AND deleted = 0",
    )
    .bind(company_id)
    .bind(resource)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(object_from_row)
    .transpose()
}

/// Writes one outbox row per ACTIVE subscription of the company to `event`.
///
/// Idempotency keys are 32 hex digits: the enqueue time in milliseconds, then
/// 80 random bits. Keys that grow with time land at the right edge of their
/// unique index; fully random ones would touch a random page of it per
/// message, which is slow once millions of messages wait (see the backlog
/// benchmark).
async fn enqueue(
    conn: &mut SqliteConnection,
    company_id: i64,
    now_ms: i64,
    event: &EventType,
    object_id: i64,
    object_version: Option<i32>,
    payload: Option<&str>,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "INSERT INTO messages (company_id, subscription_id, event, subject, object_id, object_version, \
             payload, idempotency_key, status, attempts, next_attempt_at_ms, created_at_ms) \
         SELECT ?1, s.id, ?2, ?3, ?4, ?5, ?6, printf('%012x', ?7) || lower(hex(randomblob(10))), 'pending', 0, ?7, ?7 \
         FROM subscriptions s WHERE s.company_id = ?1 AND s.event = ?2 AND s.status = 'ACTIVE'",
    )
    .bind(company_id)
    .bind(event.to_string())
    .bind(event.subject().as_str())
    .bind(object_id)
    .bind(object_version)
    .bind(payload)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    if let Some(version) = object_version.filter(|v| *v > 0) {
        outbox::supersede_older(conn, company_id, event, object_id, version, now_ms).await?;
    }
    Ok(result.rows_affected())
}

impl SqliteStore {
    /// Writes the outbox rows of an object change.
    async fn enqueue_change(
        &self,
        conn: &mut SqliteConnection,
        ctx: &WriteContext<'_>,
        record: &ObjectRecord,
        deleted: bool,
    ) -> StoreResult<()> {
        if ctx.emits.is_empty() {
            return Ok(());
        }
        let payload = if deleted {
            None
        } else {
            Some(to_json(&render(record, &self.url_base))?)
        };
        for event in ctx.emits {
            enqueue(
                conn,
                ctx.company.id,
                ctx.now_ms,
                event,
                record.id,
                Some(record.version),
                payload.as_deref(),
            )
            .await?;
        }
        Ok(())
    }

    async fn write_object(
        conn: &mut SqliteConnection,
        record: &ObjectRecord,
        deleted: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE objects SET version = ?, body = ?, changes = ?, deleted = ?, updated_at_ms = ? WHERE id = ?",
        )
        .bind(record.version)
        .bind(to_json(&record.body)?)
        .bind(to_json(&record.changes)?)
        .bind(deleted)
        .bind(now_ms)
        .bind(record.id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Loads a live object for a change, checking the caller's version.
    async fn object_for_change(
        conn: &mut SqliteConnection,
        company_id: i64,
        resource: &str,
        id: i64,
        expected_version: Option<i32>,
    ) -> StoreResult<ObjectRecord> {
        let record = fetch_live_object(conn, company_id, resource, id)
            .await?
            .ok_or(StoreError::NotFound { what: "object", id })?;
        match expected_version {
            Some(expected) if expected != record.version => Err(StoreError::Conflict {
                what: "object",
                id,
                expected,
                actual: record.version,
            }),
            _ => Ok(record),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // Through the writer: it is the connection every change needs.
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    async fn ensure_company(&self, employee_token_digest: &str) -> StoreResult<Company> {
        let mut tx = self.writer.begin().await?;
        let existing =
            sqlx::query("SELECT id, employee_id FROM companies WHERE employee_token_digest = ?")
                .bind(employee_token_digest)
                .fetch_optional(&mut *tx)
                .await?;
        let company = if let Some(row) = existing {
            Company {
                id: row.try_get("id")?,
                employee_id: row.try_get("employee_id")?,
            }
        } else {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO companies (employee_token_digest, employee_id) VALUES (?, 0) RETURNING id",
            )
            .bind(employee_token_digest)
            .fetch_one(&mut *tx)
            .await?;
            // Employee ids are distinct from company ids, as in Tripletex.
            let employee_id = 1000 + id;
            sqlx::query("UPDATE companies SET employee_id = ? WHERE id = ?")
                .bind(employee_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Company { id, employee_id }
        };
        tx.commit().await?;
        Ok(company)
    }

    async fn create_session(
        &self,
        token_digest: &str,
        company: Company,
        expiration_date: Date,
        expires_at_ms: i64,
    ) -> StoreResult<Session> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (token_digest, company_id, expiration_date, expires_at_ms) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(token_digest)
        .bind(company.id)
        .bind(expiration_date.to_string())
        .bind(expires_at_ms)
        .fetch_one(&self.writer)
        .await?;
        Ok(Session {
            id,
            company,
            expiration_date,
            expires_at_ms,
        })
    }

    async fn find_session(&self, token_digest: &str) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id, s.company_id, c.employee_id, s.expiration_date, s.expires_at_ms \
             FROM sessions s JOIN companies c ON c.id = s.company_id WHERE s.token_digest = ?",
        )
        .bind(token_digest)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let date: String = row.try_get("expiration_date")?;
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Ok(Some(Session {
            id: row.try_get("id")?,
            company: Company {
                id: row.try_get("company_id")?,
                employee_id: row.try_get("employee_id")?,
            },
            expiration_date: Date::parse(&date, format)
                .map_err(|e| StoreError::Backend(format!("stored date {date:?}: {e}")))?,
            expires_at_ms: row.try_get("expires_at_ms")?,
        }))
    }

    async fn delete_session(&self, token_digest: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM sessions WHERE token_digest = ?")
            .bind(token_digest)
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_subscriptions(&self, company_id: i64) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = ? ORDER BY id"
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
        fetch_subscription(&mut conn, company_id, id).await
    }

    async fn insert_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        subscriptions: Vec<NewSubscription>,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let mut tx = self.writer.begin().await?;
        let mut created = Vec::with_capacity(subscriptions.len());
        let changes = to_json(&[change(company.employee_id, now_ms, ChangeType::Create)])?;
        for new in subscriptions {
            let status = new.status.unwrap_or(SubscriptionStatus::Active);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO subscriptions (company_id, version, event, target_url, fields, status, \
                     auth_header_name, auth_header_value, hmac_shared_secret, changes, created_at_ms, updated_at_ms) \
                 VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(company.id)
            .bind(new.event.to_string())
            .bind(&new.target_url)
            .bind(new.fields.as_deref().filter(|f| !f.is_empty()))
            .bind(status.as_str())
            .bind(new.auth_header_name.as_deref())
            .bind(expose(new.auth_header_value.as_ref()))
            .bind(expose(new.hmac_shared_secret.as_ref()))
            .bind(&changes)
            .bind(now_ms)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            let record =
                fetch_subscription(&mut tx, company.id, id)
                    .await?
                    .ok_or(StoreError::NotFound {
                        what: "subscription",
                        id,
                    })?;
            created.push(record);
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
            let mut record =
                fetch_subscription(&mut tx, company.id, id)
                    .await?
                    .ok_or(StoreError::NotFound {
                        what: "subscription",
                        id,
                    })?;
            if let Some(expected) = update.version.filter(|v| *v != record.version) {
                return Err(StoreError::Conflict {
                    what: "subscription",
                    id,
                    expected,
                    actual: record.version,
                });
            }
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
                "UPDATE subscriptions SET version = ?, event = ?, target_url = ?, fields = ?, status = ?, \
                     auth_header_name = ?, auth_header_value = ?, hmac_shared_secret = ?, changes = ?, \
                     updated_at_ms = ?, \
                     failing_since_ms = CASE WHEN ? THEN NULL ELSE failing_since_ms END \
                 WHERE id = ?",
            )
            .bind(record.version)
            .bind(record.event.to_string())
            .bind(&record.target_url)
            .bind(record.fields.as_deref())
            .bind(record.status.as_str())
            .bind(record.auth_header_name.as_deref())
            .bind(expose(record.auth_header_value.as_ref()))
            .bind(expose(record.hmac_shared_secret.as_ref()))
            .bind(to_json(&record.changes)?)
            .bind(now_ms)
            .bind(reactivated)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if !record.status.is_active() {
                outbox::close_if_inactive(&mut tx, id, now_ms).await?;
            }
            records.push(record);
        }
        tx.commit().await?;
        Ok(records)
    }

    async fn delete_subscriptions(&self, company_id: i64, ids: &[i64]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for id in ids.iter().copied().collect::<BTreeSet<_>>() {
            // Messages first, then the subscription: the order in which
            // recording an outcome locks them, so the two never deadlock.
            sqlx::query("DELETE FROM messages WHERE company_id = ? AND subscription_id = ?")
                .bind(company_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM subscriptions WHERE company_id = ? AND id = ?")
                .bind(company_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(StoreError::NotFound {
                    what: "subscription",
                    id,
                });
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_object(
        &self,
        ctx: WriteContext<'_>,
        resource: &str,
        body: Map<String, Value>,
    ) -> StoreResult<ObjectRecord> {
        let mut tx = self.writer.begin().await?;
        let changes = vec![change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Create,
        )];
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO objects (company_id, resource, version, body, changes, updated_at_ms) \
             VALUES (?, ?, 0, ?, ?, ?) RETURNING id",
        )
        .bind(ctx.company.id)
        .bind(resource)
        .bind(to_json(&body)?)
        .bind(to_json(&changes)?)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let record = ObjectRecord {
            id,
            resource: resource.to_owned(),
            version: 0,
            body,
            changes,
        };
        self.enqueue_change(&mut tx, &ctx, &record, false).await?;
        tx.commit().await?;
        self.enqueued.notify_one();
        Ok(record)
    }

    async fn get_object(
        &self,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>> {
        let mut conn = self.reader.acquire().await?;
        fetch_live_object(&mut conn, company_id, resource, id).await
    }

    async fn update_object(
        &self,
        ctx: WriteContext<'_>,
        resource: &str,
        id: i64,
        expected_version: Option<i32>,
        patch: Map<String, Value>,
    ) -> StoreResult<ObjectRecord> {
        let mut tx = self.writer.begin().await?;
        let mut record =
            Self::object_for_change(&mut tx, ctx.company.id, resource, id, expected_version)
                .await?;
        record.body.extend(patch);
        record.version += 1;
        record.changes.push(change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Update,
        ));
        Self::write_object(&mut tx, &record, false, ctx.now_ms).await?;
        self.enqueue_change(&mut tx, &ctx, &record, false).await?;
        tx.commit().await?;
        self.enqueued.notify_one();
        Ok(record)
    }

    async fn delete_object(
        &self,
        ctx: WriteContext<'_>,
        resource: &str,
        id: i64,
    ) -> StoreResult<ObjectRecord> {
        let mut tx = self.writer.begin().await?;
        let mut record =
            Self::object_for_change(&mut tx, ctx.company.id, resource, id, None).await?;
        record.version += 1;
        record.changes.push(change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Delete,
        ));
        Self::write_object(&mut tx, &record, true, ctx.now_ms).await?;
        self.enqueue_change(&mut tx, &ctx, &record, true).await?;
        tx.commit().await?;
        self.enqueued.notify_one();
        Ok(record)
    }

    async fn list_objects(
        &self,
        company_id: i64,
        resource: &str,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<ObjectRecord>> {
        let mut conn = self.reader.acquire().await?;
        let versions: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT id, version FROM objects WHERE company_id = ? AND resource = ? AND deleted = 0 ORDER BY id",
        )
        .bind(company_id)
        .bind(resource)
        .fetch_all(&mut *conn)
        .await?;
        let values = sqlx::query(
            "SELECT id, resource, version, body, changes FROM objects \
             WHERE company_id = ? AND resource = ? AND deleted = 0 ORDER BY id LIMIT ? OFFSET ?",
        )
        .bind(company_id)
        .bind(resource)
        .bind(count)
        .bind(from)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(object_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            values,
            total: i64::try_from(versions.len()).unwrap_or(i64::MAX),
            digest: crate::digest::result_digest(
                versions
                    .iter()
                    .map(|(id, version)| format!("{id}:{version}")),
            ),
        })
    }

    async fn emit_event(
        &self,
        company_id: i64,
        now_ms: i64,
        event: &EventType,
        object_id: i64,
        value: Option<&Value>,
    ) -> StoreResult<u64> {
        let payload = value.map(to_json).transpose()?;
        let version = value
            .and_then(|v| v.get("version"))
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok());
        let mut tx = self.writer.begin().await?;
        let queued = enqueue(
            &mut tx,
            company_id,
            now_ms,
            event,
            object_id,
            version,
            payload.as_deref(),
        )
        .await?;
        tx.commit().await?;
        self.enqueued.notify_one();
        Ok(queued)
    }

    async fn reset_company(&self, company_id: i64) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for table in ["messages", "objects", "subscriptions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE company_id = ?"))
                .bind(company_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clock_offset(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT offset_ms FROM emulator_clock WHERE id = 1")
                .fetch_one(&self.writer)
                .await?,
        )
    }

    async fn save_clock_offset(&self, offset_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE emulator_clock SET offset_ms = MAX(offset_ms, ?) WHERE id = 1")
            .bind(offset_ms)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
