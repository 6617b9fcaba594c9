//! [`SqliteStore`]: a durable dedup store on SQLite (sqlx).

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};

use super::{Claim, DedupStore, Lease, StoreError};
use crate::dedup::{DedupKey, Mark, Seen};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS tripletex_webhook_dedup (
    dedup_key TEXT PRIMARY KEY NOT NULL,
    version INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    recorded_at_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// One row per key claimed and not yet committed or released (or lapsed and
/// not yet replaced or purged).
const CREATE_CLAIMS: &str = "CREATE TABLE IF NOT EXISTS tripletex_webhook_claims (
    dedup_key TEXT PRIMARY KEY NOT NULL,
    claim_token TEXT NOT NULL,
    claimed_until_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// Takes the database's write lock at once (waiting up to the busy timeout),
/// so that a claim's comparison and its write are one atomic step for every
/// connection and every process on the file.
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

const SEEN: &str = "SELECT version, deleted FROM tripletex_webhook_dedup
    WHERE dedup_key = ?1 AND recorded_at_ms >= ?2";

const HELD: &str = "SELECT claim_token, claimed_until_ms FROM tripletex_webhook_claims
    WHERE dedup_key = ?1";

const TAKE: &str = "INSERT INTO tripletex_webhook_claims (dedup_key, claim_token, claimed_until_ms)
    VALUES (?1, ?2, ?3)
    ON CONFLICT (dedup_key) DO UPDATE SET
        claim_token = excluded.claim_token,
        claimed_until_ms = excluded.claimed_until_ms";

/// Releases a claim only for its own holder.
const RELEASE: &str =
    "DELETE FROM tripletex_webhook_claims WHERE dedup_key = ?1 AND claim_token = ?2";

/// Merges monotonically: the higher version, a tombstone once set stays.
const UPSERT: &str =
    "INSERT INTO tripletex_webhook_dedup (dedup_key, version, deleted, recorded_at_ms)
    VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (dedup_key) DO UPDATE SET
        version = CASE
            WHEN tripletex_webhook_dedup.version IS NULL THEN excluded.version
            WHEN excluded.version IS NULL THEN tripletex_webhook_dedup.version
            ELSE MAX(tripletex_webhook_dedup.version, excluded.version) END,
        deleted = MAX(tripletex_webhook_dedup.deleted, excluded.deleted),
        recorded_at_ms = excluded.recorded_at_ms";

/// A durable [`DedupStore`] on SQLite: what was handled survives restarts.
///
/// One row per key in the table [`SqliteStore::TABLE`], and one per claim in
/// flight in [`SqliteStore::CLAIMS_TABLE`] (both created on connect, so the
/// store can share a database with the application). Recording is one
/// monotonic upsert. Rows are kept until
/// [`purge_older_than`](Self::purge_older_than) removes them; with
/// [`with_ttl`](Self::with_ttl), older rows are also ignored on read.
///
/// [Claims](DedupStore::claim) live in the database, so every user of the
/// file shares them: the routes of one application (one per subscription),
/// several `SqliteStore`s opened on the same file, and several processes on
/// the machine. A claim is one `BEGIN IMMEDIATE` transaction (the file's
/// write lock, then the record and the claim compared and written); a commit
/// records and deletes the committer's claim in one transaction. A claim
/// lapses at its lease's TTL on the system clock (every process on the
/// machine reads the same one).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tripletex_webhooks_receiver::store::SqliteStore;
///
/// let dir = std::env::temp_dir().join(format!("dedup-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let url = format!("sqlite://{}", dir.join("dedup.db").display());
/// let store = SqliteStore::connect(&url).await?;
/// # drop(store); std::fs::remove_dir_all(dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    ttl: Option<Duration>,
}

impl SqliteStore {
    /// The table the store keeps its rows in (created if missing).
    pub const TABLE: &str = "tripletex_webhook_dedup";
    /// The table the store keeps its claims in (created if missing).
    pub const CLAIMS_TABLE: &str = "tripletex_webhook_claims";

    /// Opens (creating if needed) the database at `url` (`sqlite://FILE` or
    /// `sqlite::memory:`) in WAL mode and creates the table.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = if memory {
            // An in-memory database lives and dies with its one connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (such as the application's own database) and
    /// creates the tables if missing.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        sqlx::query(CREATE).execute(&pool).await?;
        sqlx::query(CREATE_CLAIMS).execute(&pool).await?;
        Ok(Self { pool, ttl: None })
    }

    /// The same store ignoring rows recorded more than `ttl` ago.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Deletes rows recorded more than `age` ago, and claims that lapsed
    /// (a crashed holder's); returns how many rows went.
    pub async fn purge_older_than(&self, age: Duration) -> Result<u64, StoreError> {
        let now = now_ms();
        let records = sqlx::query("DELETE FROM tripletex_webhook_dedup WHERE recorded_at_ms < ?1")
            .bind(now.saturating_sub(millis(age)))
            .execute(&self.pool)
            .await?;
        let claims =
            sqlx::query("DELETE FROM tripletex_webhook_claims WHERE claimed_until_ms <= ?1")
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(records.rows_affected() + claims.rows_affected())
    }

    /// Closes the pool (waiting for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The row key: `object:SUBJECT:ID` or `delivery:KEY` (subjects have no `:`).
fn row_key(key: &DedupKey) -> String {
    match key {
        DedupKey::Object(object) => format!("object:{}:{}", object.subject, object.id),
        DedupKey::Delivery(idempotency_key) => format!("delivery:{idempotency_key}"),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

impl SqliteStore {
    /// Rows recorded before this are ignored (with a TTL).
    fn cutoff(&self) -> i64 {
        self.ttl
            .map_or(i64::MIN, |ttl| now_ms().saturating_sub(millis(ttl)))
    }

    async fn fetch_seen(
        &self,
        connection: &mut SqliteConnection,
        key: &str,
    ) -> Result<Option<Seen>, StoreError> {
        let row = sqlx::query(SEEN)
            .bind(key)
            .bind(self.cutoff())
            .fetch_optional(connection)
            .await?;
        row.map(|row| {
            Ok(Seen {
                version: row.try_get::<Option<i64>, _>("version")?,
                deleted: row.try_get::<i64, _>("deleted")? != 0,
            })
        })
        .transpose()
        .map_err(|error: sqlx::Error| StoreError::new(error))
    }

    async fn upsert(
        connection: &mut SqliteConnection,
        key: &str,
        mark: Mark,
    ) -> Result<(), StoreError> {
        let seen = Seen::from_mark(mark);
        sqlx::query(UPSERT)
            .bind(key)
            .bind(seen.version)
            .bind(i64::from(seen.deleted))
            .bind(now_ms())
            .execute(connection)
            .await?;
        Ok(())
    }
}

/// Within the claim's transaction: takes the claim on `key` for `lease`,
/// unless another lease's claim is still live; then answers how long that
/// one still lasts.
async fn take_claim(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
    lease: &Lease,
) -> Result<Option<Duration>, StoreError> {
    let now = now_ms();
    let held = sqlx::query(HELD)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = held {
        let token: String = row.try_get("claim_token")?;
        let until: i64 = row.try_get("claimed_until_ms")?;
        if until > now && token != lease.token() {
            let remaining = u64::try_from(until - now).unwrap_or(u64::MAX);
            return Ok(Some(Duration::from_millis(remaining)));
        }
    }
    let ttl = i64::try_from(lease.ttl_millis()).unwrap_or(i64::MAX);
    sqlx::query(TAKE)
        .bind(key)
        .bind(lease.token())
        .bind(now.saturating_add(ttl))
        .execute(&mut **tx)
        .await?;
    Ok(None)
}

#[async_trait]
impl DedupStore for SqliteStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        self.fetch_seen(&mut connection, &row_key(key)).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        Self::upsert(&mut connection, &row_key(key), mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        let key = row_key(key);
        let mut tx = self.pool.begin_with(BEGIN_IMMEDIATE).await?;
        let decided = Claim::decide(self.fetch_seen(&mut tx, &key).await?, mark);
        if let Claim::Claimed { .. } = decided {
            if let Some(remaining) = take_claim(&mut tx, &key, lease).await? {
                tx.rollback().await?;
                return Ok(Claim::Busy {
                    retry_after: Some(remaining),
                });
            }
        }
        tx.commit().await?;
        Ok(decided)
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        let key = row_key(key);
        let mut tx = self.pool.begin_with(BEGIN_IMMEDIATE).await?;
        Self::upsert(&mut tx, &key, mark).await?;
        sqlx::query(RELEASE)
            .bind(&key)
            .bind(lease.token())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        sqlx::query(RELEASE)
            .bind(row_key(key))
            .bind(lease.token())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tripletex_webhooks_types::{ObjectKey, Subject};

    use super::*;

    fn product(id: i64) -> DedupKey {
        DedupKey::Object(ObjectKey {
            subject: Subject::Product,
            id,
        })
    }

    #[tokio::test]
    async fn upserts_are_monotonic() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        assert_eq!(store.seen(&product(1)).await.unwrap(), None);
        store.record(&product(1), Mark::Version(5)).await.unwrap();
        store.record(&product(1), Mark::Version(3)).await.unwrap();
        assert_eq!(
            store.seen(&product(1)).await.unwrap(),
            Some(Seen::from_mark(Mark::Version(5)))
        );
        store.record(&product(1), Mark::Tombstone).await.unwrap();
        store.record(&product(1), Mark::Version(2)).await.unwrap();
        assert_eq!(
            store.seen(&product(1)).await.unwrap(),
            Some(Seen {
                version: Some(5),
                deleted: true
            })
        );
        let delivery = DedupKey::Delivery("k:1".into());
        store.record(&delivery, Mark::Delivered).await.unwrap();
        assert_eq!(store.seen(&delivery).await.unwrap(), Some(Seen::default()));
        assert_eq!(store.seen(&product(2)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn ttl_and_purge() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.record(&product(1), Mark::Version(1)).await.unwrap();
        sqlx::query("UPDATE tripletex_webhook_dedup SET recorded_at_ms = recorded_at_ms - 120000")
            .execute(store.pool())
            .await
            .unwrap();
        store.record(&product(2), Mark::Version(1)).await.unwrap();
        let short = store.clone().with_ttl(Duration::from_secs(60));
        assert_eq!(short.seen(&product(1)).await.unwrap(), None);
        assert!(short.seen(&product(2)).await.unwrap().is_some());
        assert!(
            store.seen(&product(1)).await.unwrap().is_some(),
            "no TTL: kept"
        );
        assert_eq!(
            store
                .purge_older_than(Duration::from_secs(60))
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.seen(&product(1)).await.unwrap(), None);
    }
}
