//! The embedded SQLite backend: WAL, one writer connection beside several
//! readers, and checkpoints off the commit path.

mod checkpoint;

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};

use self::checkpoint::Checkpointer;
use super::StoreResult;
use super::sql::{Backend, SqlStore, sealed};
use crate::config::Durability;

/// The SQLite store.
pub(crate) type SqliteStore = SqlStore<Sqlite>;

impl sealed::Sealed for Sqlite {}

impl Backend for Sqlite {
    /// Checkpoints the WAL in the background (none in memory); held for its
    /// `Drop`, which stops it with the store.
    type Hooks = Option<Checkpointer>;
    // Every write goes through the single writer connection, so claims never
    // race each other within a process; a second process on the same file is
    // serialised by SQLite's own lock.
    const CLAIM_LOCK: Option<&'static str> = None;
    const JSON_ROWS: &'static str = "json_each($1)";
    const UNHEX_EXCHANGE: &'static str = "unhex(value->>'exchange')";
    const IDEMPOTENCY_KEY: &'static str = "printf('%012x', $7) || lower(hex(randomblob(10)))";
    // A read transaction on a WAL database is a snapshot.
    const SNAPSHOT: Option<&'static str> = None;
    const SINGLE_PROCESS: bool = true;
    const GROUP_COMMIT: bool = true;

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `database_url`
    /// (`sqlite://FILE` or `sqlite::memory:`), its commits as durable as
    /// `durability` says. `url_base` is the scheme-less base of `url`
    /// fields, e.g. `tripletex.no/v2`.
    pub(crate) async fn connect(
        database_url: &str,
        durability: Durability,
        url_base: impl Into<String>,
    ) -> StoreResult<Self> {
        let memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                // In WAL mode: survives kill -9; the WAL is synced only at checkpoints.
                Durability::Process => SqliteSynchronous::Normal,
                // In WAL mode: the WAL is synced at every commit.
                Durability::Power => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Commits never checkpoint: the checkpointer does (see its module).
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", checkpoint::WAL_LIMIT.to_string());
        let writer = single_connection_pool(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        // An in-memory database lives and dies with its one connection.
        if memory {
            return SqlStore::open(writer.clone(), writer, None, url_base).await;
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone().read_only(true))
            .await?;
        let mut wal_path = options.get_filename().as_os_str().to_owned();
        wal_path.push("-wal");
        let pool = single_connection_pool(options.busy_timeout(checkpoint::BUSY_TIMEOUT)).await?;
        let checkpointer = Checkpointer::spawn(pool, wal_path.into(), checkpoint::TRUNCATE_ABOVE);
        SqlStore::open(writer, reader, Some(checkpointer), url_base).await
    }
}

async fn single_connection_pool(options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        // A file does not go away like a server: a ping per acquire would
        // cost a round trip to the connection's thread for nothing.
        .test_before_acquire(false)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?)
}
