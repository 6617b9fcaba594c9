//! The PostgreSQL store, for several server instances on one database.

mod outbox;

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Row};
use time::Date;
use tripletex_webhooks_types::{
    ChangeType, EventType, NewSubscription, SubscriptionStatus, SubscriptionUpdate,
};

use super::rows::{
    SUBSCRIPTION_COLUMNS, apply_update, change, expose, object_from_row, subscription_from_row,
    to_json,
};
use super::{
    Company, ObjectRecord, Page, Session, Store, StoreError, StoreResult, SubscriptionRecord,
    WriteContext,
};
use crate::domain::object::render;

/// The PostgreSQL store: several server processes share one database; claims
/// take row locks with `FOR UPDATE SKIP LOCKED` and leases, so instances split
/// the work and take over each other's expired leases.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    url_base: String,
    /// Notified after every commit of this process that may have enqueued
    /// messages (other instances find them by polling).
    enqueued: std::sync::Arc<tokio::sync::Notify>,
    /// Messages enqueued by this process since the planner's statistics were last refreshed.
    writes_since_analyze: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The claim query is only fast with statistics: without them PostgreSQL
/// guesses one row per table and can pick an index that makes the per-object
/// check quadratic. Autovacuum refreshes them eventually; a table that grows
/// from empty under load needs them sooner, so every this many enqueued
/// messages the store asks for `ANALYZE` itself.
const ANALYZE_EVERY: u64 = 1_000;

impl PgStore {
    /// Connects to and migrates the database at `database_url`
    /// (`postgres://…`). `url_base` is the scheme-less base of `url` fields.
    pub(crate) async fn connect(
        database_url: &str,
        url_base: impl Into<String>,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(database_url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While the database is away, requests fail (503) after this
            // rather than hang.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        // sqlx takes an advisory lock, so instances starting together migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            url_base: url_base.into(),
            enqueued: std::sync::Arc::default(),
            writes_since_analyze: std::sync::Arc::default(),
        })
    }

    /// Wakes the local dispatcher after a write that may have enqueued
    /// messages, and refreshes the planner's statistics now and then.
    fn after_write(&self, queued: u64) {
        if queued == 0 {
            return;
        }
        self.enqueued.notify_one();
        let since = self
            .writes_since_analyze
            .fetch_add(queued, std::sync::atomic::Ordering::Relaxed);
        if since + queued >= ANALYZE_EVERY {
            self.writes_since_analyze
                .store(0, std::sync::atomic::Ordering::Relaxed);
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(error) = sqlx::query("ANALYZE messages, subscriptions")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(%error, "refreshing planner statistics failed");
                }
            });
        }
    }
}

async fn fetch_subscription(
    conn: &mut PgConnection,
    company_id: i64,
    id: i64,
) -> StoreResult<Option<SubscriptionRecord>> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = $1 AND id = $2"
    );
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
    conn: &mut PgConnection,
    company_id: i64,
    resource: &str,
    id: i64,
) -> StoreResult<Option<ObjectRecord>> {
    sqlx::query(
        "SELECT id, resource, version, body, changes FROM objects \
         WHERE company_id = $1 AND resource = $2 AND id = $3 AND deleted = 0",
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

/// Writes one outbox row per ACTIVE subscription of the company to `event`,
/// with time-ordered idempotency keys (see the SQLite store's `enqueue`).
async fn enqueue(
    conn: &mut PgConnection,
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
         SELECT $1, s.id, $2, $3, $4, $5, $6, lpad(to_hex($7::bigint), 12, '0') || substr(replace(gen_random_uuid()::text, '-', ''), 1, 20), 'pending', 0, $7, $7 \
         FROM subscriptions s WHERE s.company_id = $1 AND s.event = $2 AND s.status = 'ACTIVE'",
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

impl PgStore {
    /// Writes the outbox rows of an object change.
    async fn enqueue_change(
        &self,
        conn: &mut PgConnection,
        ctx: &WriteContext<'_>,
        record: &ObjectRecord,
        deleted: bool,
    ) -> StoreResult<u64> {
        if ctx.emits.is_empty() {
            return Ok(0);
        }
        let payload = if deleted {
            None
        } else {
            Some(to_json(&render(record, &self.url_base))?)
        };
        let mut queued = 0;
        for event in ctx.emits {
            queued += enqueue(
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
        Ok(queued)
    }

    async fn write_object(
        conn: &mut PgConnection,
        record: &ObjectRecord,
        deleted: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE objects SET version = $1, body = $2, changes = $3, deleted = $4, updated_at_ms = $5 WHERE id = $6",
        )
        .bind(record.version)
        .bind(to_json(&record.body)?)
        .bind(to_json(&record.changes)?)
        .bind(i32::from(deleted))
        .bind(now_ms)
        .bind(record.id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Loads a live object for a change, checking the caller's version.
    async fn object_for_change(
        conn: &mut PgConnection,
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
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ensure_company(&self, employee_token_digest: &str) -> StoreResult<Company> {
        // Instances starting together may race to create the same company.
        sqlx::query(
            "INSERT INTO companies (employee_token_digest, employee_id) VALUES ($1, 0) \
             ON CONFLICT (employee_token_digest) DO NOTHING",
        )
        .bind(employee_token_digest)
        .execute(&self.pool)
        .await?;
        // Employee ids are distinct from company ids, as in Tripletex.
        let row = sqlx::query(
            "UPDATE companies SET employee_id = CASE WHEN employee_id = 0 THEN 1000 + id ELSE employee_id END \
             WHERE employee_token_digest = $1 RETURNING id, employee_id",
        )
        .bind(employee_token_digest)
        .fetch_one(&self.pool)
        .await?;
        Ok(Company {
            id: row.try_get("id")?,
            employee_id: row.try_get("employee_id")?,
        })
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
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(token_digest)
        .bind(company.id)
        .bind(expiration_date.to_string())
        .bind(expires_at_ms)
        .fetch_one(&self.pool)
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
             FROM sessions s JOIN companies c ON c.id = s.company_id WHERE s.token_digest = $1",
        )
        .bind(token_digest)
        .fetch_optional(&self.pool)
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
        let result = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn list_subscriptions(&self, company_id: i64) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE company_id = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(company_id)
            .fetch_all(&self.pool)
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
        let mut conn = self.pool.acquire().await?;
        fetch_subscription(&mut conn, company_id, id).await
    }

    async fn insert_subscriptions(
        &self,
        company: Company,
        now_ms: i64,
        subscriptions: Vec<NewSubscription>,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let mut tx = self.pool.begin().await?;
        let mut created = Vec::with_capacity(subscriptions.len());
        let changes = to_json(&[change(company.employee_id, now_ms, ChangeType::Create)])?;
        for new in subscriptions {
            let status = new.status.unwrap_or(SubscriptionStatus::Active);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO subscriptions (company_id, version, event, target_url, fields, status, \
                     auth_header_name, auth_header_value, hmac_shared_secret, changes, created_at_ms, updated_at_ms) \
                 VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
        let mut tx = self.pool.begin().await?;
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
                "UPDATE subscriptions SET version = $1, event = $2, target_url = $3, fields = $4, status = $5, \
                     auth_header_name = $6, auth_header_value = $7, hmac_shared_secret = $8, changes = $9, \
                     updated_at_ms = $10, \
                     failing_since_ms = CASE WHEN $11 THEN NULL ELSE failing_since_ms END \
                 WHERE id = $12",
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        let changes = vec![change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Create,
        )];
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO objects (company_id, resource, version, body, changes, updated_at_ms) \
             VALUES ($1, $2, 0, $3, $4, $5) RETURNING id",
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
        let queued = self.enqueue_change(&mut tx, &ctx, &record, false).await?;
        tx.commit().await?;
        self.after_write(queued);
        Ok(record)
    }

    async fn get_object(
        &self,
        company_id: i64,
        resource: &str,
        id: i64,
    ) -> StoreResult<Option<ObjectRecord>> {
        let mut conn = self.pool.acquire().await?;
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
        let mut tx = self.pool.begin().await?;
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
        let queued = self.enqueue_change(&mut tx, &ctx, &record, false).await?;
        tx.commit().await?;
        self.after_write(queued);
        Ok(record)
    }

    async fn delete_object(
        &self,
        ctx: WriteContext<'_>,
        resource: &str,
        id: i64,
    ) -> StoreResult<ObjectRecord> {
        let mut tx = self.pool.begin().await?;
        let mut record =
            Self::object_for_change(&mut tx, ctx.company.id, resource, id, None).await?;
        record.version += 1;
        record.changes.push(change(
            ctx.company.employee_id,
            ctx.now_ms,
            ChangeType::Delete,
        ));
        Self::write_object(&mut tx, &record, true, ctx.now_ms).await?;
        let queued = self.enqueue_change(&mut tx, &ctx, &record, true).await?;
        tx.commit().await?;
        self.after_write(queued);
        Ok(record)
    }

    async fn list_objects(
        &self,
        company_id: i64,
        resource: &str,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<ObjectRecord>> {
        let mut conn = self.pool.acquire().await?;
        let versions: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT id, version FROM objects WHERE company_id = $1 AND resource = $2 AND deleted = 0 ORDER BY id",
        )
        .bind(company_id)
        .bind(resource)
        .fetch_all(&mut *conn)
        .await?;
        let values = sqlx::query(
            "SELECT id, resource, version, body, changes FROM objects \
             WHERE company_id = $1 AND resource = $2 AND deleted = 0 ORDER BY id LIMIT $3 OFFSET $4",
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
        let mut tx = self.pool.begin().await?;
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
        self.after_write(queued);
        Ok(queued)
    }

    async fn reset_company(&self, company_id: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
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
        Ok(
            sqlx::query_scalar("SELECT offset_ms FROM emulator_clock WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn save_clock_offset(&self, offset_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE emulator_clock SET offset_ms = GREATEST(offset_ms, $1) WHERE id = 1")
            .bind(offset_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
