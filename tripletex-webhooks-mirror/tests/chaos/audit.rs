//! A check on every write of the store, independent of the mirror's code:
//! database triggers count the writes of `mirror_objects` and the ones that
//! made a stored version go backwards.

use std::sync::Arc;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use tripletex_webhooks_mirror::Store;

const SQLITE: &[&str] = &[
    "CREATE TABLE chaos_audit (writes BIGINT NOT NULL, regressions BIGINT NOT NULL)",
    "INSERT INTO chaos_audit VALUES (0, 0)",
    "CREATE TRIGGER chaos_insert AFTER INSERT ON mirror_objects
     BEGIN UPDATE chaos_audit SET writes = writes + 1; END",
    "CREATE TRIGGER chaos_update AFTER UPDATE ON mirror_objects
     BEGIN UPDATE chaos_audit SET writes = writes + 1,
       regressions = regressions + (NEW.version < OLD.version); END",
];

const POSTGRES: &[&str] = &[
    "CREATE TABLE chaos_audit (writes BIGINT NOT NULL, regressions BIGINT NOT NULL)",
    "INSERT INTO chaos_audit VALUES (0, 0)",
    "CREATE FUNCTION chaos_check() RETURNS trigger AS $$ BEGIN
       UPDATE chaos_audit SET writes = writes + 1, regressions = regressions +
         CASE WHEN TG_OP = 'UPDATE' AND NEW.version < OLD.version THEN 1 ELSE 0 END;
       RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER chaos_check AFTER INSERT OR UPDATE ON mirror_objects
     FOR EACH ROW EXECUTE FUNCTION chaos_check()",
];

async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

/// Creates the mirror's tables at `url`, then the audit triggers.
pub async fn install(url: &str) {
    drop(Store::open(url, Arc::new(|| 0)).await.unwrap());
    let pool = pool(url).await;
    let ddl = if url.starts_with("sqlite:") {
        SQLITE
    } else {
        POSTGRES
    };
    for statement in ddl {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

/// The writes counted, and how many regressed a version.
pub async fn counts(url: &str) -> (i64, i64) {
    use sqlx::Row as _;
    let pool = pool(url).await;
    let row = sqlx::query("SELECT writes, regressions FROM chaos_audit")
        .fetch_one(&pool)
        .await
        .unwrap();
    let counts = (row.get("writes"), row.get("regressions"));
    pool.close().await;
    counts
}
