//! The store: one SQL implementation (sqlx `Any`) for SQLite and PostgreSQL.
//!
//! Every write is a compare-and-write in one transaction: the object row is
//! changed only when the incoming version is newer than the stored one (the
//! `ON CONFLICT ... DO UPDATE ... WHERE` clause decides, so two replicas
//! cannot regress a version either), and the change feed row is inserted in
//! the same transaction. Writes of one process are also serialized, so the
//! old version a change reports is exact.

mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use tokio::sync::Mutex;

use crate::change::{Change, Source};
use crate::error::{MirrorError, Result};

/// Set on each SQLite connection. `synchronous = NORMAL` in WAL mode keeps
/// every committed transaction through a crash of the process; only a power
/// loss may lose the last ones, which the next resync repairs.
const SQLITE_PRAGMAS: &[&str] = &["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"];

/// Milliseconds since the Unix epoch, from the mirror's clock.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// One stored object: a row of `mirror_objects`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredObject {
    /// The subject, such as `product`.
    pub subject: String,
    /// The object's id.
    pub id: i64,
    /// Its version (for a tombstone: the last version known before the delete).
    pub version: i64,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The object as received (`None` for a tombstone).
    pub data: Option<Value>,
    /// What wrote it last.
    pub source: Source,
    /// When it was written last, in milliseconds since the Unix epoch.
    pub updated_at: i64,
}

/// A subject's backfill progress: a row of `mirror_backfill`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillMark {
    /// The client's `SyncState` (JSON) after the last committed page.
    pub state: String,
    /// Pages committed.
    pub pages: i64,
    /// Objects seen in the committed pages.
    pub objects: i64,
    /// Whether the backfill finished.
    pub done: bool,
}

impl BackfillMark {
    /// The mark of a complete backfill with nothing counted. Saved for a
    /// subject whose objects the app loaded itself, [`crate::Mirror::start`]
    /// only subscribes to it.
    pub fn complete() -> Self {
        Self {
            state: String::new(),
            pages: 0,
            objects: 0,
            done: true,
        }
    }
}

/// A mirror's store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    writes: Arc<Mutex<()>>,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// The clock the store stamps its rows with.
    pub(crate) fn clock(&self) -> Clock {
        Arc::clone(&self.clock)
    }

    /// Opens (and creates the tables of) the store at `url`:
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://...`.
    pub async fn open(url: &str, clock: Clock) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, ddl, connections) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') || url.contains(":memory:") {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            (url, schema::SQLITE, 1)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (url.to_owned(), schema::POSTGRES, 5)
        } else {
            return Err(MirrorError::Config(
                "the store URL must start with sqlite: or postgres:".into(),
            ));
        };
        // One SQLite connection, kept for good: writes never contend, and an
        // in-memory database lives as long as the store.
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        // A write-ahead log: a commit survives a crash of the
                        // process without waiting for the disk each time.
                        for pragma in SQLITE_PRAGMAS {
                            sqlx::Executor::execute(&mut *connection, *pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(MirrorError::store("connecting"))?;
        for statement in ddl {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .map_err(MirrorError::store("creating the tables"))?;
        }
        Ok(Self {
            pool,
            writes: Arc::new(Mutex::new(())),
            clock,
        })
    }

    /// Applies an object (JSON with `id` and `version`) when its version is
    /// newer than the stored one; returns the committed change, or `None`
    /// when it changed nothing.
    pub async fn apply_object(
        &self,
        subject: &str,
        object: &Value,
        source: Source,
    ) -> Result<Option<Change>> {
        let mut changes = self
            .apply_objects(subject, std::slice::from_ref(object), source)
            .await?;
        Ok(changes.pop())
    }

    /// Applies objects (such as a sync page) in one transaction, each when
    /// its version is newer than the stored one; returns the committed
    /// changes in order. An object without a numeric `id` and `version`
    /// refuses the whole batch before anything is written.
    pub async fn apply_objects(
        &self,
        subject: &str,
        objects: &[Value],
        source: Source,
    ) -> Result<Vec<Change>> {
        let keys = objects
            .iter()
            .map(|object| versioned(subject, object))
            .collect::<Result<Vec<_>>>()?;
        let _write = self.writes.lock().await;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(MirrorError::store("begin"))?;
        let now = (self.clock)();
        let ids: Vec<i64> = keys.iter().map(|(id, _)| *id).collect();
        let mut stored = stored_versions(&mut tx, subject, &ids).await?;
        let mut changes = Vec::new();
        for ((id, version), object) in keys.into_iter().zip(objects) {
            let old = stored.get(&id).copied();
            if old.is_some_and(|stored| stored >= version) {
                continue;
            }
            let write = Write {
                subject,
                id,
                version,
                source,
                now,
            };
            if let Some(change) = upsert(&mut tx, &write, old, object).await? {
                stored.insert(id, version);
                changes.push(change);
            }
        }
        tx.commit().await.map_err(MirrorError::store("commit"))?;
        Ok(changes)
    }

    /// Tombstones an object (kept with its last version, so that only a
    /// newer version resurrects it); `None` when it was already deleted.
    pub async fn apply_delete(
        &self,
        subject: &str,
        id: i64,
        source: Source,
    ) -> Result<Option<Change>> {
        let _write = self.writes.lock().await;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(MirrorError::store("begin"))?;
        let old = current(&mut tx, subject, id).await?;
        if old.is_some_and(|(_, deleted)| deleted) {
            return Ok(None);
        }
        let now = (self.clock)();
        let applied = sqlx::query(
            "INSERT INTO mirror_objects (subject, id, version, deleted, data, source, updated_at)
             VALUES ($1, $2, 0, 1, NULL, $3, $4)
             ON CONFLICT (subject, id) DO UPDATE SET deleted = 1, data = NULL,
               source = excluded.source, updated_at = excluded.updated_at
             WHERE mirror_objects.deleted = 0",
        )
        .bind(subject)
        .bind(id)
        .bind(source.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(MirrorError::store("tombstoning an object"))?
        .rows_affected();
        if applied == 0 {
            return Ok(None);
        }
        let version = old.map_or(0, |o| o.0);
        let change = record(
            &mut tx,
            subject,
            id,
            old.map(|o| o.0),
            version,
            true,
            source,
            now,
        )
        .await?;
        tx.commit().await.map_err(MirrorError::store("commit"))?;
        Ok(Some(change))
    }

    /// One object, tombstones included.
    pub async fn object(&self, subject: &str, id: i64) -> Result<Option<StoredObject>> {
        sqlx::query(
            "SELECT subject, id, version, deleted, data, source, updated_at
             FROM mirror_objects WHERE subject = $1 AND id = $2",
        )
        .bind(subject)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(MirrorError::store("reading an object"))?
        .map(|row| stored(&row))
        .transpose()
    }

    /// A subject's objects by id, tombstones included.
    pub async fn objects(&self, subject: &str) -> Result<Vec<StoredObject>> {
        sqlx::query(
            "SELECT subject, id, version, deleted, data, source, updated_at
             FROM mirror_objects WHERE subject = $1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await
        .map_err(MirrorError::store("reading objects"))?
        .iter()
        .map(stored)
        .collect()
    }

    /// The changes after `seq` (0 for all), in feed order, at most `limit`.
    pub async fn changed_since(&self, seq: i64, limit: i64) -> Result<Vec<Change>> {
        sqlx::query(
            "SELECT seq, subject, id, old_version, new_version, deleted, source
             FROM mirror_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(MirrorError::store("reading the change feed"))?
        .iter()
        .map(change)
        .collect()
    }

    /// The changes not yet marked delivered, in feed order, at most `limit`.
    pub async fn undelivered(&self, limit: i64) -> Result<Vec<Change>> {
        sqlx::query(
            "SELECT seq, subject, id, old_version, new_version, deleted, source
             FROM mirror_changes WHERE delivered = 0 ORDER BY seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(MirrorError::store("reading undelivered changes"))?
        .iter()
        .map(change)
        .collect()
    }

    /// Marks a change delivered to the app.
    pub async fn mark_delivered(&self, seq: i64) -> Result<()> {
        self.mark_all_delivered(&[seq]).await
    }

    /// Marks changes delivered to the app, in one transaction.
    pub async fn mark_all_delivered(&self, seqs: &[i64]) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(MirrorError::store("begin"))?;
        for seq in seqs {
            sqlx::query("UPDATE mirror_changes SET delivered = 1 WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(MirrorError::store("marking a change delivered"))?;
        }
        tx.commit().await.map_err(MirrorError::store("commit"))
    }

    /// A subject's backfill progress, `None` before its first page.
    pub async fn backfill(&self, subject: &str) -> Result<Option<BackfillMark>> {
        sqlx::query("SELECT state, pages, objects, done FROM mirror_backfill WHERE subject = $1")
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(MirrorError::store("reading backfill progress"))?
            .map(|row| {
                Ok(BackfillMark {
                    state: row.try_get("state")?,
                    pages: row.try_get("pages")?,
                    objects: row.try_get("objects")?,
                    done: row.try_get::<i64, _>("done")? != 0,
                })
            })
            .transpose()
            .map_err(MirrorError::store("decoding backfill progress"))
    }

    /// Saves a subject's backfill progress after a committed page.
    pub async fn save_backfill(&self, subject: &str, mark: &BackfillMark) -> Result<()> {
        sqlx::query(
            "INSERT INTO mirror_backfill (subject, state, pages, objects, done, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (subject) DO UPDATE SET state = excluded.state,
               pages = excluded.pages, objects = excluded.objects,
               done = excluded.done, updated_at = excluded.updated_at",
        )
        .bind(subject)
        .bind(&mark.state)
        .bind(mark.pages)
        .bind(mark.objects)
        .bind(i64::from(mark.done))
        .bind((self.clock)())
        .execute(&self.pool)
        .await
        .map_err(MirrorError::store("saving backfill progress"))?;
        Ok(())
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One object write: what and when.
struct Write<'a> {
    subject: &'a str,
    id: i64,
    version: i64,
    source: Source,
    now: i64,
}

/// The `id` and `version` of an object to apply.
fn versioned(subject: &str, object: &Value) -> Result<(i64, i64)> {
    match (
        object.get("id").and_then(Value::as_i64),
        object.get("version").and_then(Value::as_i64),
    ) {
        (Some(id), Some(version)) => Ok((id, version)),
        _ => Err(MirrorError::Config(format!(
            "a {subject} object without a numeric id and version: add `id,version` to its fields"
        ))),
    }
}

/// How many ids one `IN (...)` lists: well below every engine's limit of
/// bound parameters.
const IDS_PER_QUERY: usize = 500;

/// The stored versions of `ids` (tombstones included), by id.
async fn stored_versions(tx: &mut Tx, subject: &str, ids: &[i64]) -> Result<HashMap<i64, i64>> {
    let mut versions = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, version FROM mirror_objects WHERE subject = $1 AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(subject);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query
            .fetch_all(&mut **tx)
            .await
            .map_err(MirrorError::store("reading the stored versions"))?
        {
            let id: i64 = row
                .try_get("id")
                .map_err(MirrorError::store("decoding a version"))?;
            let version: i64 = row
                .try_get("version")
                .map_err(MirrorError::store("decoding a version"))?;
            versions.insert(id, version);
        }
    }
    Ok(versions)
}

/// Writes the object when its version is newer than the stored one (the
/// `WHERE` of the upsert decides, so a concurrent replica cannot regress
/// it either), with its change-feed row.
async fn upsert(
    tx: &mut Tx,
    write: &Write<'_>,
    old: Option<i64>,
    object: &Value,
) -> Result<Option<Change>> {
    let applied = sqlx::query(
        "INSERT INTO mirror_objects (subject, id, version, deleted, data, source, updated_at)
         VALUES ($1, $2, $3, 0, $4, $5, $6)
         ON CONFLICT (subject, id) DO UPDATE SET version = excluded.version,
           deleted = 0, data = excluded.data, source = excluded.source,
           updated_at = excluded.updated_at
         WHERE mirror_objects.version < excluded.version",
    )
    .bind(write.subject)
    .bind(write.id)
    .bind(write.version)
    .bind(object.to_string())
    .bind(write.source.as_str())
    .bind(write.now)
    .execute(&mut **tx)
    .await
    .map_err(MirrorError::store("writing an object"))?
    .rows_affected();
    if applied == 0 {
        return Ok(None);
    }
    let change = record(
        tx,
        write.subject,
        write.id,
        old,
        write.version,
        false,
        write.source,
        write.now,
    )
    .await?;
    Ok(Some(change))
}

async fn current(tx: &mut Tx, subject: &str, id: i64) -> Result<Option<(i64, bool)>> {
    sqlx::query("SELECT version, deleted FROM mirror_objects WHERE subject = $1 AND id = $2")
        .bind(subject)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(MirrorError::store("reading the stored version"))?
        .map(|row| {
            Ok((
                row.try_get("version")?,
                row.try_get::<i64, _>("deleted")? != 0,
            ))
        })
        .transpose()
        .map_err(MirrorError::store("decoding the stored version"))
}

#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    subject: &str,
    id: i64,
    old_version: Option<i64>,
    new_version: i64,
    deleted: bool,
    source: Source,
    now: i64,
) -> Result<Change> {
    let row = sqlx::query(
        "INSERT INTO mirror_changes (subject, id, old_version, new_version, deleted, source, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(subject)
    .bind(id)
    .bind(old_version)
    .bind(new_version)
    .bind(i64::from(deleted))
    .bind(source.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(MirrorError::store("writing the change feed"))?;
    Ok(Change {
        seq: row
            .try_get("seq")
            .map_err(MirrorError::store("decoding a change"))?,
        subject: subject.to_owned(),
        id,
        old_version,
        new_version,
        deleted,
        source,
    })
}

fn stored(row: &AnyRow) -> Result<StoredObject> {
    let decode = MirrorError::store("decoding an object");
    let data: Option<String> = row.try_get("data").map_err(decode)?;
    let data = data
        .map(|raw| serde_json::from_str(&raw))
        .transpose()
        .map_err(|source| MirrorError::Data {
            context: "a stored object".into(),
            source,
        })?;
    let get = |column: &str| {
        row.try_get::<i64, _>(column)
            .map_err(MirrorError::store("decoding an object"))
    };
    Ok(StoredObject {
        subject: row
            .try_get("subject")
            .map_err(MirrorError::store("decoding an object"))?,
        id: get("id")?,
        version: get("version")?,
        deleted: get("deleted")? != 0,
        data,
        source: Source::from_stored(
            &row.try_get::<String, _>("source")
                .map_err(MirrorError::store("decoding an object"))?,
        ),
        updated_at: get("updated_at")?,
    })
}

fn change(row: &AnyRow) -> Result<Change> {
    let decode = |e| MirrorError::Store {
        context: "decoding a change",
        source: e,
    };
    Ok(Change {
        seq: row.try_get("seq").map_err(decode)?,
        subject: row.try_get("subject").map_err(decode)?,
        id: row.try_get("id").map_err(decode)?,
        old_version: row.try_get("old_version").map_err(decode)?,
        new_version: row.try_get("new_version").map_err(decode)?,
        deleted: row.try_get::<i64, _>("deleted").map_err(decode)? != 0,
        source: Source::from_stored(&row.try_get::<String, _>("source").map_err(decode)?),
    })
}
