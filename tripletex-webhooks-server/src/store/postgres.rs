//! The PostgreSQL backend, for several server processes on one database:
//! claims lock their candidates with `FOR UPDATE SKIP LOCKED` and take
//! leases, so processes split the work and take over each other's expired
//! leases.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::{Pool, Postgres};

use super::StoreResult;
use super::sql::{Backend, SqlStore, sealed};

/// The PostgreSQL store.
pub(crate) type PgStore = SqlStore<Postgres>;

/// The claim query is only fast with statistics: without them PostgreSQL
/// guesses one row per table and can pick an index that makes the per-object
/// check quadratic. Autovacuum refreshes them eventually; a table that grows
/// from empty under load needs them sooner, so every this many enqueued
/// messages the store asks for `ANALYZE` itself.
const ANALYZE_EVERY: u64 = 1_000;

impl sealed::Sealed for Postgres {}

impl Backend for Postgres {
    /// Messages enqueued by this process since the planner's statistics were
    /// last refreshed.
    type Hooks = Arc<AtomicU64>;
    const CLAIM_LOCK: Option<&'static str> = Some("FOR UPDATE OF m SKIP LOCKED");
    const JSON_ROWS: &'static str = "jsonb_array_elements(CAST($1 AS jsonb))";
    const UNHEX_EXCHANGE: &'static str = "decode(value->>'exchange', 'hex')";
    const IDEMPOTENCY_KEY: &'static str = "lpad(to_hex(CAST($7 AS bigint)), 12, '0') \
         || substr(replace(CAST(gen_random_uuid() AS text), '-', ''), 1, 20)";
    const SNAPSHOT: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const SINGLE_PROCESS: bool = false;
    // Several connections write at once; each commit is a transaction's own.
    const GROUP_COMMIT: bool = false;

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    fn after_enqueue(writes_since_analyze: &Self::Hooks, writer: &Pool<Self>, queued: u64) {
        let since = writes_since_analyze.fetch_add(queued, Ordering::Relaxed);
        if since + queued < ANALYZE_EVERY {
            return;
        }
        writes_since_analyze.store(0, Ordering::Relaxed);
        let pool = writer.clone();
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
        // sqlx takes an advisory lock, so processes starting together migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        SqlStore::open(pool.clone(), pool, Arc::default(), url_base).await
    }
}
