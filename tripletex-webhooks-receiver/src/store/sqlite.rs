//! [`SqliteStore`]: a durable dedup store on SQLite (sqlx).

mod claims;

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use super::{Claim, DedupStore, Lease, StoreError, row_key};
use crate::dedup::{DedupKey, Mark, Seen};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS tripletex_webhook_dedup (
    dedup_key TEXT PRIMARY KEY NOT NULL,
    version INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    recorded_at_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// Takes the file's write lock at once (waiting up to the busy timeout):
/// a commit's record and release are one transaction.
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

const SEEN: &str = "SELECT version, deleted FROM tripletex_webhook_dedup
    WHERE dedup_key = ?1 AND recorded_at_ms >= ?2";

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
/// the machine. A claim is one statement, as in `PostgresStore`: SQLite
/// takes the file's write lock before the statement reads, so comparing the
/// delivery with the record and taking the claim are atomic. A commit
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
    /// `sqlite::memory:`) in WAL mode and creates the tables.
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
        sqlx::query(claims::CREATE).execute(&pool).await?;
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
        let claims = sqlx::query(claims::PURGE)
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

    async fn fetch_seen(&self, key: &str) -> Result<Option<Seen>, StoreError> {
        let row = sqlx::query(SEEN)
            .bind(key)
            .bind(self.cutoff())
            .fetch_optional(&self.pool)
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

#[async_trait]
impl DedupStore for SqliteStore {
    async fn seen(&self, key: &DedupKey) -> Result<Option<Seen>, StoreError> {
        self.fetch_seen(&row_key(key)).await
    }

    async fn record(&self, key: &DedupKey, mark: Mark) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        Self::upsert(&mut connection, &row_key(key), mark).await
    }

    async fn claim(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<Claim, StoreError> {
        claims::claim(self, &row_key(key), mark, lease).await
    }

    async fn commit(&self, key: &DedupKey, mark: Mark, lease: &Lease) -> Result<(), StoreError> {
        let key = row_key(key);
        let mut tx = self.pool.begin_with(BEGIN_IMMEDIATE).await?;
        Self::upsert(&mut tx, &key, mark).await?;
        sqlx::query(claims::RELEASE)
            .bind(&key)
            .bind(lease.token())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release(&self, key: &DedupKey, lease: &Lease) -> Result<(), StoreError> {
        claims::release(&self.pool, &row_key(key), lease).await
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
    async fn claims_are_held_released_by_their_holder_and_purged_once_lapsed() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let (mine, theirs) = (
            Lease::new(Duration::from_secs(60)),
            Lease::new(Duration::from_secs(60)),
        );
        let v1 = Mark::Version(1);
        assert_eq!(
            store.claim(&product(1), v1, &mine).await.unwrap(),
            Claim::Claimed { previous: None }
        );
        assert!(matches!(
            store.claim(&product(1), v1, &theirs).await.unwrap(),
            Claim::Busy { retry_after: Some(remaining) } if remaining <= Duration::from_secs(60)
        ));
        store.release(&product(1), &theirs).await.unwrap();
        assert!(
            matches!(
                store.claim(&product(1), v1, &theirs).await.unwrap(),
                Claim::Busy { .. }
            ),
            "only the holder releases"
        );
        // The holder crashed: its claim lapses (moved into the past here).
        sqlx::query(
            "UPDATE tripletex_webhook_claims SET claimed_until_ms = claimed_until_ms - 120000",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert_eq!(
            store
                .purge_older_than(Duration::from_secs(60))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.claim(&product(1), v1, &theirs).await.unwrap(),
            Claim::Claimed { previous: None }
        );
        store.commit(&product(1), v1, &theirs).await.unwrap();
        let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM tripletex_webhook_claims")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(claims, 0, "a commit releases");
        assert_eq!(
            store.claim(&product(1), v1, &mine).await.unwrap(),
            Claim::AlreadyHandled(Seen::from_mark(v1))
        );
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
