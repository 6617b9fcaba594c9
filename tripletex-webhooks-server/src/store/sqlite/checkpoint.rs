//! Checkpoints off the commit path.
//!
//! By default SQLite checkpoints inside the commit that grows the WAL past
//! 1,000 pages: that commit copies the pages into the database file and syncs
//! it, and every write queued behind the single writer connection waits. At
//! 1,000 events/s that was half the median commit-to-receipt latency (3.1 ms
//! with, 1.6 ms without, in the benchmark's backlog part). So the writer never
//! checkpoints (`wal_autocheckpoint=0`) and this task does, on its own
//! connection, in `PASSIVE` mode: it copies what no reader still needs and
//! never blocks the writer or the readers.
//! Checkpoints do not change what a commit survives: the WAL is synced
//! before pages are copied, and `--durability` (`synchronous`) decides
//! whether each commit syncs it too. Under `process` a power loss can take
//! only the commits made since the last checkpoint synced the WAL.
//!
//! A `PASSIVE` checkpoint copies pages but cannot restart the WAL while some
//! reader is always active, so under steady load the file only grew (1 GB
//! after 20 s at 1,000 writes/s). Once the WAL passes [`TRUNCATE_ABOVE`], a
//! `TRUNCATE` checkpoint waits (through the busy handler) for the moment
//! between readers, copies the rest and empties the file; the writer waits
//! for that one checkpoint only. `journal_size_limit` ([`WAL_LIMIT`]) also
//! shrinks the file whenever SQLite restarts the WAL by itself.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

/// How often the WAL is checkpointed: often enough that it stays a few
/// megabytes at thousands of commits a second.
const INTERVAL: Duration = Duration::from_millis(100);

/// The WAL size above which a checkpoint empties the file.
pub(super) const TRUNCATE_ABOVE: u64 = 32 << 20;

/// `journal_size_limit`: what a restarted WAL is cut back to.
pub(super) const WAL_LIMIT: u64 = 64 << 20;

/// The checkpointer connection's busy timeout. A `TRUNCATE` checkpoint holds
/// the writer back while it waits for readers, so it waits briefly and tries
/// again on a later tick rather than stall writes for the store's 10 s.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// The background checkpointer of one database; stops when dropped (the last
/// connection to close checkpoints what is left).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Checkpoints through `pool` (one writable connection of its own) every
    /// [`INTERVAL`], emptying the WAL at `wal_path` once it is larger than
    /// `truncate_above` bytes.
    pub(super) fn spawn(pool: SqlitePool, wal_path: PathBuf, truncate_above: u64) -> Self {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let wal_size = tokio::fs::metadata(&wal_path).await.map_or(0, |m| m.len());
                let statement = if wal_size > truncate_above {
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                } else {
                    "PRAGMA wal_checkpoint(PASSIVE)"
                };
                let checkpoint = sqlx::query_as::<_, (i64, i64, i64)>(statement)
                    .fetch_one(&pool)
                    .await;
                // The next tick tries again; the WAL only grows meanwhile.
                if let Err(error) = checkpoint {
                    tracing::warn!(%error, "checkpointing the WAL failed");
                }
            }
        });
        Self { task }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Durability;
    use std::str::FromStr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };

    use super::*;
    use crate::store::SqliteStore;

    fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    /// Commits with `wal_autocheckpoint=0` leave their pages in the WAL; the
    /// checkpointer copies them into the database file.
    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let pool = |options: SqliteConnectOptions| {
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
        };
        let writer = pool(options.clone()).await.unwrap();
        sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            .execute(&writer)
            .await
            .unwrap();
        for n in 0..50 {
            sqlx::query("INSERT INTO filler (text) VALUES (?)")
                .bind(format!("{n:04000}"))
                .execute(&writer)
                .await
                .unwrap();
        }
        assert!(
            file_size(&path) < 50 * 4000,
            "no commit checkpointed: {} bytes in the file",
            file_size(&path)
        );
        let _checkpointer = Checkpointer::spawn(
            pool(options).await.unwrap(),
            path.with_extension("db-wal"),
            TRUNCATE_ABOVE,
        );
        // Bounded wait for a checkpoint to copy the pages into the file.
        let mut tick = tokio::time::interval(INTERVAL / 4);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while file_size(&path) < 50 * 4000 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no checkpoint: {} bytes in the file",
                file_size(&path)
            );
            tick.tick().await;
        }
    }

    /// Readers always active (one query after another on four connections)
    /// starve `PASSIVE` checkpoints of the moment they need to restart the
    /// WAL, and `PASSIVE` never shrinks the file; the checkpointer must still
    /// empty it again and again while the writes go on, and once they stop.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_emptied_under_steady_reads_and_writes() {
        const TRUNCATE_AT: u64 = 1 << 20;
        const EMPTIED: usize = 3;
        // About 8 KiB of WAL a row: 125 times the threshold, when three
        // emptyings need about three times it.
        const MAX_ROWS: usize = 16_000;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steady.db");
        let wal = dir.path().join("steady.db-wal");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", "0");
        let connect = |options: SqliteConnectOptions, connections| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                .connect_with(options)
        };
        let writer = connect(options.clone(), 1).await.unwrap();
        sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            .execute(&writer)
            .await
            .unwrap();
        let readers = connect(options.clone().read_only(true), 4).await.unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let reading: Vec<_> = (0..4)
            .map(|_| {
                let (readers, stop, reads) =
                    (readers.clone(), Arc::clone(&stop), Arc::clone(&reads));
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler")
                            .fetch_one(&readers)
                            .await
                            .unwrap();
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let _checkpointer = Checkpointer::spawn(
            connect(options.busy_timeout(BUSY_TIMEOUT), 1)
                .await
                .unwrap(),
            wal.clone(),
            TRUNCATE_AT,
        );
        // A drop from above the threshold to at most it is a TRUNCATE: the
        // file never shrinks otherwise. How many rows that takes depends on
        // the machine's speed, so rows are written until it happened.
        let (mut emptied, mut above, mut rows) = (0, false, 0);
        while emptied < EMPTIED {
            assert!(
                rows < MAX_ROWS,
                "the WAL was emptied {emptied} times in {rows} rows"
            );
            sqlx::query("INSERT INTO filler (text) VALUES (?)")
                .bind(format!("{rows:04000}"))
                .execute(&writer)
                .await
                .unwrap();
            rows += 1;
            let size = file_size(&wal);
            if above && size <= TRUNCATE_AT {
                emptied += 1;
            }
            above = size > TRUNCATE_AT;
        }
        let reads_while_writing = reads.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        for reader in reading {
            reader.await.unwrap();
        }
        assert!(reads_while_writing > 0, "the readers never ran");
        test_support::eventually("the WAL to be emptied", || async {
            (file_size(&wal) <= TRUNCATE_AT).then_some(())
        })
        .await;
    }

    #[tokio::test]
    async fn the_stores_writer_leaves_checkpoints_to_its_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = SqliteStore::connect(&url, Durability::Process, "tripletex.no/v2")
            .await
            .unwrap();
        let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(autocheckpoint, 0);
        assert!(store.hooks.is_some());
        let memory =
            SqliteStore::connect("sqlite::memory:", Durability::Process, "tripletex.no/v2")
                .await
                .unwrap();
        assert!(memory.hooks.is_none(), "no WAL in memory");
    }
}
