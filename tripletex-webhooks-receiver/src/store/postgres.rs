//! [`PostgresStore`]: a dedup store shared by receiver replicas, on
//! PostgreSQL (sqlx), with per-object claims.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{Claim, DedupStore, Lease, StoreError, mark_params, row_key};
use crate::dedup::{DedupKey, Freshness, Mark, Seen, decide};

/// A [`DedupStore`] on PostgreSQL, shared by every replica of a receiver.
///
/// One row per key in one table ([`PostgresStore::DEFAULT_TABLE`] unless
/// [`with_table`](Self::with_table) names another), created on connect:
///
/// | column | |
/// |---|---|
/// | `dedup_key TEXT PRIMARY KEY` | `object:SUBJECT:ID` or `delivery:IDEMPOTENCY-KEY` |
/// | `version BIGINT`, `deleted BOOLEAN` | what was handled |
/// | `recorded_at TIMESTAMPTZ` | when it was last recorded; `NULL` while a key was only claimed |
/// | `claim_token TEXT`, `claimed_until TIMESTAMPTZ` | the claim, if any |
///
/// Every operation is one statement, atomic on its row:
///
/// - [`claim`](DedupStore::claim) is an `INSERT … ON CONFLICT (dedup_key) DO
///   UPDATE` that takes the claim only when the mark is new after what was
///   recorded and no live claim holds the row, and returns the row: the
///   answer ([`Claim`]) is read from it.
/// - [`commit`](DedupStore::commit) and [`record`](DedupStore::record) are an
///   upsert that merges monotonically (`version = GREATEST(stored.version,
///   excluded.version)`, `deleted = stored.deleted OR excluded.deleted`) and,
///   for a commit, clears the claim if its token is still the committer's.
/// - [`release`](DedupStore::release) clears the claim if its token is the
///   releaser's.
///
/// Claim expiry is computed by the database clock (`clock_timestamp()`), so
/// the replicas' clocks need not agree. Rows stay until
/// [`purge_older_than`](Self::purge_older_than) removes them.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tripletex_webhooks_receiver::{TripletexWebhookLayer, WebhookConfig};
/// use tripletex_webhooks_receiver::store::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/app").await?;
/// let config = WebhookConfig::builder()
///     .hmac_secret("shared-secret")
///     .store(store)
///     .build()?;
/// let layer = TripletexWebhookLayer::new(config);
/// # drop(layer);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    table: String,
    sql: Arc<Statements>,
}

/// The statements, with the table name in place.
#[derive(Debug, Clone)]
struct Statements {
    seen: String,
    claim: String,
    record: String,
    release: String,
    purge: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        // Whether the mark ($4 kind, $5 version) is new after the row `s`:
        // the same rules as `dedup::decide`.
        let fresh = "(s.recorded_at IS NULL OR CASE $4
                WHEN 'version' THEN NOT s.deleted AND (s.version IS NULL OR s.version < $5)
                WHEN 'tombstone' THEN NOT s.deleted
                ELSE FALSE END)";
        let free = "(s.claimed_until IS NULL OR s.claimed_until <= clock_timestamp())";
        Self {
            seen: format!(
                "SELECT version, deleted FROM {table}
                 WHERE dedup_key = $1 AND recorded_at IS NOT NULL"
            ),
            claim: format!(
                "INSERT INTO {table} AS s (dedup_key, claim_token, claimed_until)
                 VALUES ($1, $2, clock_timestamp() + $3::float8 * INTERVAL '1 millisecond')
                 ON CONFLICT (dedup_key) DO UPDATE SET
                    claim_token = CASE WHEN {fresh} AND {free}
                        THEN excluded.claim_token ELSE s.claim_token END,
                    claimed_until = CASE WHEN {fresh} AND {free}
                        THEN excluded.claimed_until ELSE s.claimed_until END
                 RETURNING version, deleted, recorded_at IS NOT NULL AS recorded,
                    COALESCE(claim_token = $2, FALSE) AS claimed,
                    GREATEST(CEIL(EXTRACT(EPOCH FROM claimed_until - clock_timestamp()) * 1000), 0)::BIGINT
                        AS remaining_ms"
            ),
            // $4 is the committer's claim token (NULL for a plain record).
            record: format!(
                "INSERT INTO {table} AS s (dedup_key, version, deleted, recorded_at)
                 VALUES ($1, $2, $3, clock_timestamp())
                 ON CONFLICT (dedup_key) DO UPDATE SET
                    version = GREATEST(s.version, excluded.version),
                    deleted = s.deleted OR excluded.deleted,
                    recorded_at = excluded.recorded_at,
                    claim_token = CASE WHEN s.claim_token = $4 THEN NULL ELSE s.claim_token END,
                    claimed_until = CASE WHEN s.claim_token = $4 THEN NULL ELSE s.claimed_until END"
            ),
            // A row that only held the claim goes; a recorded one keeps its record.
            release: format!(
                "WITH gone AS (
                    DELETE FROM {table}
                    WHERE dedup_key = $1 AND claim_token = $2 AND recorded_at IS NULL
                 )
                 UPDATE {table} SET claim_token = NULL, claimed_until = NULL
                 WHERE dedup_key = $1 AND claim_token = $2 AND recorded_at IS NOT NULL"
            ),
            purge: format!(
                "DELETE FROM {table}
                 WHERE COALESCE(recorded_at, '-infinity') < clock_timestamp() - $1::float8 * INTERVAL '1 millisecond'
                   AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())"
            ),
        }
    }
}

impl PostgresStore {
    /// The table the store keeps its rows in unless told otherwise.
    pub const DEFAULT_TABLE: &str = "tripletex_webhook_dedup";

    /// Connects to `url` (`postgres://user:password@host:port/database`) with
    /// a pool of up to 8 connections and creates [`DEFAULT_TABLE`](Self::DEFAULT_TABLE)
    /// if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (such as the application's own database) and
    /// creates [`DEFAULT_TABLE`](Self::DEFAULT_TABLE) if missing.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        Self::with_table(pool, Self::DEFAULT_TABLE).await
    }

    /// Uses an existing pool and the table `table` (created if missing): a
    /// lower-case SQL identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes),
    /// optionally qualified by a schema (`schema.table`).
    pub async fn with_table(pool: PgPool, table: &str) -> Result<Self, StoreError> {
        let parts: Vec<&str> = table.split('.').collect();
        if parts.len() > 2 || !parts.iter().all(|part| is_identifier(part)) {
            return Err(StoreError::msg(format!(
                "invalid table name {table:?}: use a lower-case SQL identifier"
            )));
        }
        let store = Self {
            sql: Arc::new(Statements::new(table)),
            table: table.to_owned(),
            pool,
        };
        store.create_table().await?;
        Ok(store)
    }

    /// Creates the table, serialised by an advisory lock so that replicas
    /// starting together do not race on `CREATE TABLE IF NOT EXISTS`.
    async fn create_table(&self) -> Result<(), StoreError> {
        let table = &self.table;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("tripletex_webhooks_receiver:{table}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                dedup_key TEXT PRIMARY KEY NOT NULL,
                version BIGINT,
                deleted BOOLEAN NOT NULL DEFAULT FALSE,
                recorded_at TIMESTAMPTZ,
                claim_token TEXT,
                claimed_until TIMESTAMPTZ
            )"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The table the store keeps its rows in.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Deletes rows recorded more than `age` ago (and rows that only held a
    /// claim that lapsed), keeping rows under a live claim; returns how many.
    pub async fn purge_older_than(&self, age: Duration) -> Result<u64, StoreError> {
        let result = sqlx::query(&self.sql.purge)
            .bind(millis_f64(age))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// Drops the table (for tests and teardown).
    pub async fn drop_table(&self) -> Result<(), StoreError> {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.table))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool (waiting for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn upsert(
        &self,
        key: &DedupKey,
        mark: Mark,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        let seen = Seen::from_mark(mark);
        sqlx::query(&self.sql.record)
            .bind(row_key(key))
            .bind(seen.version)
            .bind(seen.deleted)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// `[a-z_][a-z0-9_]*`, 1 to 63 bytes: safe to put in SQL unquoted.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    (1..=63).contains(&name.len())
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[allow(clippy::cast_precision_loss)]
fn millis_f64(duration: Duration) -> f64 {
    duration.as_millis() as f64
}

#[async_trait]
impl DedupStore for PostgresStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        let row = sqlx::query(&self.sql.seen)
            .bind(row_key(key))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Seen {
                version: row.try_get::<Option<i64>, _>("version")?,
                deleted: row.try_get::<bool, _>("deleted")?,
            })
        })
        .transpose()
        .map_err(|error: sqlx::Error| StoreError::new(error))
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        self.upsert(key, mark, None).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        let (kind, version) = mark_params(mark);
        #[allow(clippy::cast_precision_loss)]
        let ttl_ms = lease.ttl_millis() as f64;
        let row = sqlx::query(&self.sql.claim)
            .bind(row_key(key))
            .bind(lease.token())
            .bind(ttl_ms)
            .bind(kind)
            .bind(version)
            .fetch_one(&self.pool)
            .await?;
        let seen = row.try_get::<bool, _>("recorded")?.then_some(Seen {
            version: row.try_get("version")?,
            deleted: row.try_get("deleted")?,
        });
        let claimed: bool = row.try_get("claimed")?;
        if decide(seen, mark) != Freshness::New {
            if claimed {
                // Cannot happen while the statement's rules match `decide`;
                // never keep a claim nobody will use.
                self.release(key, lease).await?;
            }
            return Ok(Claim::decide(seen, mark));
        }
        if claimed {
            return Ok(Claim::Claimed { previous: seen });
        }
        let remaining: Option<i64> = row.try_get("remaining_ms")?;
        Ok(Claim::Busy {
            retry_after: remaining
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis),
        })
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        self.upsert(key, mark, Some(lease.token())).await
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        sqlx::query(&self.sql.release)
            .bind(row_key(key))
            .bind(lease.token())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        assert!(is_identifier("tripletex_webhook_dedup"));
        assert!(is_identifier("_t1"));
        for bad in ["", "1t", "T", "a-b", "a b", "a;drop", &"a".repeat(64)] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }
}
