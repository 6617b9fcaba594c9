//! The stores replicas share, each on a fresh namespace (a table or key prefix
//! unique to the run, a SQLite file in a temporary directory), as two
//! independent handles; PostgreSQL and Redis are skipped with a printed reason
//! when the service's URL is not set.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPoolOptions;
use tripletex_webhooks_receiver::store::{
    DedupStore, MemoryStore, PostgresStore, RedisStore, SqliteStore,
};

/// Two handles on one store, as two replicas would hold them.
pub struct Shared {
    pub name: &'static str,
    pub a: Arc<dyn DedupStore>,
    pub b: Arc<dyn DedupStore>,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres(Box<(PostgresStore, PostgresStore)>),
    Redis(RedisStore),
}

impl Shared {
    /// Removes the namespace (table or keys) and closes the handles.
    pub async fn cleanup(mut self) {
        match self.cleanup.take() {
            None | Some(Cleanup::Sqlite(_)) => {}
            Some(Cleanup::Postgres(stores)) => {
                let (a, b) = *stores;
                a.drop_table().await.unwrap();
                a.close().await;
                b.close().await;
            }
            Some(Cleanup::Redis(store)) => {
                store.clear().await.unwrap();
            }
        }
    }
}

/// A test that failed before `cleanup` still removes its namespace, with
/// fresh connections on a runtime of its own (the test's may be gone).
impl Drop for Shared {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let namespace = match &cleanup {
            // The directory goes with its handle.
            Cleanup::Sqlite(_) => return,
            Cleanup::Postgres(stores) => Err(stores.0.table().to_owned()),
            Cleanup::Redis(store) => Ok(store.prefix().to_owned()),
        };
        drop(cleanup);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                match namespace {
                    Err(table) => {
                        let url = std::env::var("DATABASE_URL").unwrap();
                        let pool = sqlx::PgPool::connect(&url).await.unwrap();
                        let store = PostgresStore::with_table(pool, &table).await.unwrap();
                        store.drop_table().await.unwrap();
                    }
                    Ok(prefix) => {
                        let url = std::env::var("REDIS_URL").unwrap();
                        let store = RedisStore::connect(&url).await.unwrap();
                        store.with_prefix(prefix).clear().await.unwrap();
                    }
                }
            });
        })
        .join();
    }
}

/// A name unique to this process and call: `PREFIX_PID_NANOS_N`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// One `MemoryStore` shared by both handles (replicas in one process).
pub fn memory() -> Shared {
    let store: Arc<dyn DedupStore> = Arc::new(MemoryStore::new());
    Shared {
        name: "memory",
        a: Arc::clone(&store),
        b: store,
        cleanup: None,
    }
}

/// Two `SqliteStore`s opened on one fresh file (as two processes would).
pub async fn sqlite() -> Shared {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dedup.db").display());
    let a = SqliteStore::connect(&url).await.unwrap();
    let b = SqliteStore::connect(&url).await.unwrap();
    Shared {
        name: "sqlite",
        a: Arc::new(a),
        b: Arc::new(b),
        cleanup: Some(Cleanup::Sqlite(dir)),
    }
}

/// Two pools on one fresh table of the database at `DATABASE_URL`.
pub async fn postgres() -> Option<Shared> {
    let url = test_support::services::url("DATABASE_URL")?;
    let table = unique("dedup_test");
    let mut stores = Vec::new();
    for _ in 0..2 {
        let pool = PgPoolOptions::new()
            .max_connections(6)
            .connect(&url)
            .await
            .unwrap();
        stores.push(PostgresStore::with_table(pool, &table).await.unwrap());
    }
    let (b, a) = (stores.pop().unwrap(), stores.pop().unwrap());
    Some(Shared {
        name: "postgres",
        a: Arc::new(a.clone()),
        b: Arc::new(b.clone()),
        cleanup: Some(Cleanup::Postgres(Box::new((a, b)))),
    })
}

/// Two connections under one fresh key prefix of the Redis at `REDIS_URL`.
pub async fn redis() -> Option<Shared> {
    let url = test_support::services::url("REDIS_URL")?;
    let prefix = format!("{}:", unique("tripletex-webhooks-test"));
    let a = RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(&prefix);
    let b = RedisStore::connect(&url)
        .await
        .unwrap()
        .with_prefix(&prefix);
    Some(Shared {
        name: "redis",
        a: Arc::new(a.clone()),
        b: Arc::new(b),
        cleanup: Some(Cleanup::Redis(a)),
    })
}
