//! The database an inbox lives in, and the statements of [`sql`](super::sql)
//! run on it: each function is written once, for whichever pool it gets.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::Row as _;

use super::sql;
use super::{Claimed, InboxEntry, InboxError, ReplayFilter, State};

/// A SQLite or PostgreSQL pool.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the pool, whichever database it is: the
/// same code, type-checked for each.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            Pool::Postgres($p) => $body,
        }
    };
}

/// One delivery to store.
#[derive(Debug)]
pub(crate) struct NewEntry<'a> {
    pub(crate) object_key: String,
    pub(crate) version: Option<i64>,
    pub(crate) deleted: bool,
    pub(crate) idempotency_key: Option<&'a str>,
    pub(crate) subscription_id: Option<i64>,
    pub(crate) event: &'a str,
    pub(crate) path: &'a str,
    pub(crate) body: &'a str,
    pub(crate) received_ms: i64,
}

impl NewEntry<'_> {
    /// Where the event sorts among its object's: by version; a deletion
    /// after every version; an event without a version before them.
    fn order_version(&self) -> i64 {
        match (self.deleted, self.version) {
            (true, _) => i64::MAX,
            (false, Some(version)) => version,
            (false, None) => i64::MIN,
        }
    }
}

impl Pool {
    /// Opens a SQLite file (WAL, `synchronous=FULL`: an acknowledged
    /// delivery survives a power loss, not only a crash).
    #[cfg(feature = "sqlite")]
    pub(crate) async fn sqlite(url: &str, timeout: Duration) -> Result<Self, InboxError> {
        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if memory {
            // An in-memory database lives and dies with its one connection.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool.acquire_timeout(timeout).connect_with(options).await?;
        Ok(Self::Sqlite(pool))
    }

    /// Connects to PostgreSQL.
    #[cfg(feature = "postgres")]
    pub(crate) async fn postgres(url: &str, timeout: Duration) -> Result<Self, InboxError> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(timeout)
            .connect(url)
            .await?;
        Ok(Self::Postgres(pool))
    }

    /// Opens `sqlite:…` or `postgres:…` / `postgresql:…`.
    /// `timeout` bounds each wait for a connection (connecting included).
    pub(crate) async fn open(url: &str, timeout: Duration) -> Result<Self, InboxError> {
        #[cfg(feature = "sqlite")]
        if url.starts_with("sqlite:") {
            return Self::sqlite(url, timeout).await;
        }
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Self::postgres(url, timeout).await;
        }
        Err(InboxError::UnsupportedUrl(
            url.split(':').next().unwrap_or("").to_owned(),
        ))
    }

    fn id_column(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => sql::SQLITE_ID,
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => sql::POSTGRES_ID,
        }
    }

    fn lock(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => "",
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => sql::POSTGRES_LOCK,
        }
    }

    /// Creates the table and its index if missing.
    pub(crate) async fn migrate(&self) -> Result<(), InboxError> {
        for statement in sql::schema(self.id_column()) {
            on_pool!(self, p => {
                sqlx::query(&statement).execute(p).await?;
            });
        }
        Ok(())
    }

    /// Stores a delivery; `false` when one with its idempotency key is there.
    pub(crate) async fn insert(&self, entry: &NewEntry<'_>) -> Result<bool, InboxError> {
        let done = on_pool!(self, p => sqlx::query(sql::INSERT)
            .bind(&entry.object_key)
            .bind(entry.version)
            .bind(i64::from(entry.deleted))
            .bind(entry.order_version())
            .bind(entry.idempotency_key)
            .bind(entry.subscription_id)
            .bind(entry.event)
            .bind(entry.path)
            .bind(entry.body)
            .bind(entry.received_ms)
            .execute(p)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Claims up to `limit` events for `token` until `until`.
    pub(crate) async fn claim(
        &self,
        token: &str,
        until: i64,
        now: i64,
        limit: usize,
    ) -> Result<Vec<Claimed>, InboxError> {
        let statement = sql::claim(self.lock());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        on_pool!(self, p => {
            let rows = sqlx::query(&statement)
                .bind(token)
                .bind(until)
                .bind(now)
                .bind(limit)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(Claimed {
                        id: row.try_get("id")?,
                        object_key: row.try_get("object_key")?,
                        idempotency_key: row.try_get("idempotency_key")?,
                        path: row.try_get("path")?,
                        body: row.try_get("body")?,
                        received_ms: row.try_get("received_ms")?,
                        attempts: row.try_get("attempts")?,
                        forced: row.try_get::<i64, _>("forced")? != 0,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(InboxError::from)
        })
    }

    /// Extends `token`'s claim on `id` to `until`; false if the claim is
    /// no longer `token`'s.
    pub(crate) async fn renew(&self, id: i64, token: &str, until: i64) -> Result<bool, InboxError> {
        let renewed = on_pool!(self, p => sqlx::query(sql::RENEW)
            .bind(id)
            .bind(token)
            .bind(until)
            .execute(p)
            .await?
            .rows_affected());
        Ok(renewed == 1)
    }

    /// Ends `token`'s claim on `id` in `state`.
    pub(crate) async fn finish(
        &self,
        id: i64,
        token: &str,
        state: State,
        now: i64,
        error: Option<&str>,
    ) -> Result<(), InboxError> {
        on_pool!(self, p => sqlx::query(sql::FINISH)
            .bind(id)
            .bind(token)
            .bind(state.as_str())
            .bind(now)
            .bind(error)
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Ends `token`'s claim on `id`, to be tried again at `at`; `counted`
    /// false gives the attempt back.
    pub(crate) async fn retry(
        &self,
        id: i64,
        token: &str,
        at: i64,
        error: &str,
        counted: bool,
    ) -> Result<(), InboxError> {
        on_pool!(self, p => sqlx::query(sql::RETRY)
            .bind(id)
            .bind(token)
            .bind(at)
            .bind(error)
            .bind(i64::from(!counted))
            .execute(p)
            .await?
            .rows_affected());
        Ok(())
    }

    /// How many events are pending, and when the oldest was received.
    pub(crate) async fn depth(&self) -> Result<(i64, Option<i64>), InboxError> {
        on_pool!(self, p => {
            let row = sqlx::query(sql::DEPTH).fetch_one(p).await?;
            Ok((row.try_get("depth")?, row.try_get("oldest")?))
        })
    }

    /// When the next pending event can be claimed, if any is pending.
    pub(crate) async fn next_due(&self) -> Result<Option<i64>, InboxError> {
        on_pool!(self, p => {
            let row = sqlx::query(sql::NEXT_DUE).fetch_one(p).await?;
            Ok(row.try_get("due")?)
        })
    }

    /// The events matching `filter`, by id, at most `limit`.
    pub(crate) async fn list(
        &self,
        filter: &ReplayFilter,
        limit: usize,
    ) -> Result<Vec<InboxEntry>, InboxError> {
        let statement = sql::list();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        on_pool!(self, p => {
            let rows = bind_filter(sqlx::query(&statement), filter)
                .bind(limit)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(InboxEntry {
                        id: row.try_get("id")?,
                        object_key: row.try_get("object_key")?,
                        version: row.try_get("version")?,
                        deleted: row.try_get::<i64, _>("deleted")? != 0,
                        idempotency_key: row.try_get("idempotency_key")?,
                        subscription_id: row.try_get("subscription_id")?,
                        event: row.try_get("event")?,
                        path: row.try_get("path")?,
                        received_ms: row.try_get("received_ms")?,
                        state: State::parse(&row.try_get::<String, _>("state")?),
                        attempts: row.try_get("attempts")?,
                        next_attempt_ms: row.try_get("next_attempt_ms")?,
                        claimed_until_ms: row.try_get("claimed_until_ms")?,
                        finished_ms: row.try_get("finished_ms")?,
                        last_error: row.try_get("last_error")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(InboxError::from)
        })
    }

    /// Puts the events matching `filter` back to pending at `now`.
    pub(crate) async fn replay(&self, filter: &ReplayFilter, now: i64) -> Result<u64, InboxError> {
        let statement = sql::replay();
        let done = on_pool!(self, p => bind_filter(sqlx::query(&statement), filter)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected());
        Ok(done)
    }

    /// Deletes events finished before `before`.
    pub(crate) async fn purge(&self, before: i64) -> Result<u64, InboxError> {
        let done = on_pool!(self, p => sqlx::query(sql::PURGE)
            .bind(before)
            .execute(p)
            .await?
            .rows_affected());
        Ok(done)
    }

    pub(crate) async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

/// Binds the filter's six parameters, in the order of `sql::FILTER`.
fn bind_filter<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    filter: &ReplayFilter,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let states = filter
        .states
        .iter()
        .map(|state| state.as_str())
        .collect::<Vec<_>>()
        .join(",");
    query
        .bind(states)
        .bind(filter.ids.0)
        .bind(filter.ids.1)
        .bind(filter.received_ms.0)
        .bind(filter.received_ms.1)
        .bind(filter.subscription_id)
}
