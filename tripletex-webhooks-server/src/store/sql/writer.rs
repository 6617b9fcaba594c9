//! The write path. On PostgreSQL each write is a transaction of its own on
//! the pool. On SQLite, whose one writer connection serialises every write
//! anyway, the writes that queue up while a batch commits are committed
//! together in one transaction (group commit): one commit, and under
//! `--durability power` one sync, for all of them. A batch runs without
//! savepoints (two statements more a write); when one of its writes fails, it
//! is rolled back and run again with a savepoint around each write, so a
//! failed write fails alone. Each write is answered once its batch has
//! committed.

use std::any::Any;

use futures::future::BoxFuture;
use sqlx::{Database, Executor, Pool};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use super::Backend;
use crate::store::{StoreError, StoreResult};

/// The most writes one transaction commits: enough to share a sync between
/// every request a loaded server has in flight, few enough that one batch
/// does not hold readers' snapshots back for long.
const MAX_BATCH: usize = 256;

/// What a write returns, erased so that writes of any type share a queue.
type Answer = StoreResult<Box<dyn Any + Send>>;

/// A write: its statements, run on the connection in a transaction (again
/// if its batch is run again).
type Statements<DB> = Box<
    dyn for<'c> Fn(&'c mut <DB as Database>::Connection) -> BoxFuture<'c, Answer> + Send + Sync,
>;

/// A queued write and where its answer goes.
struct Queued<DB: Backend> {
    statements: Statements<DB>,
    answer: oneshot::Sender<Answer>,
}

/// Runs the store's writes: each in its own transaction, or (see the module)
/// grouped.
#[derive(Debug)]
pub(crate) struct Writer<DB: Backend> {
    pool: Pool<DB>,
    queue: Option<mpsc::UnboundedSender<Queued<DB>>>,
}

impl<DB: Backend> Writer<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// A writer running each write in a transaction of its own on `pool`.
    pub(crate) fn each_alone(pool: Pool<DB>) -> Self {
        Self { pool, queue: None }
    }

    /// A writer committing queued writes together on `pool`, by a task that
    /// ends when the writer is dropped.
    pub(crate) fn grouped(pool: Pool<DB>) -> Self {
        let (queue, writes) = mpsc::unbounded_channel();
        tokio::spawn(commit_batches(pool.clone(), writes));
        Self {
            pool,
            queue: Some(queue),
        }
    }

    /// Runs `write` in a transaction and answers once it has committed.
    /// `write` may run more than once (each run rolled back but the last),
    /// so it clones what its statements take.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: impl for<'c> Fn(&'c mut DB::Connection) -> BoxFuture<'c, StoreResult<T>>
        + Send
        + Sync
        + 'static,
    ) -> StoreResult<T> {
        let Some(queue) = &self.queue else {
            let mut tx = self.pool.begin().await?;
            let value = write(&mut tx).await?;
            tx.commit().await?;
            return Ok(value);
        };
        let statements: Statements<DB> = Box::new(move |conn| {
            let written = write(conn);
            Box::pin(async move {
                let value = written.await?;
                Ok(Box::new(value) as Box<dyn Any + Send>)
            })
        });
        let (answer, answered) = oneshot::channel();
        queue
            .send(Queued { statements, answer })
            .map_err(|_| stopped())?;
        let value = answered.await.map_err(|_| stopped())??;
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| StoreError::Backend("a write answered with another type".to_owned()))
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the store's writer has stopped".to_owned())
}

/// Commits what `writes` brings, a batch at a time, until every sender is gone.
async fn commit_batches<DB: Backend>(
    pool: Pool<DB>,
    mut writes: mpsc::UnboundedReceiver<Queued<DB>>,
) where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while writes.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let span = tracing::trace_span!("commit", writes = batch.len());
        commit(&pool, std::mem::take(&mut batch))
            .instrument(span)
            .await;
    }
}

/// Runs `batch` in one transaction and answers each write: its own error,
/// else the transaction's, else its value.
async fn commit<DB: Backend>(pool: &Pool<DB>, batch: Vec<Queued<DB>>)
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let answers = match run_batch(pool, &batch, false).await {
        // A lone write's failure is its own: no need to run it again.
        Err(Failed::Write(answer)) if batch.len() == 1 => Ok(vec![answer]),
        Err(Failed::Write(_)) => run_batch(pool, &batch, true).await,
        outcome => outcome,
    };
    match answers {
        Ok(answers) => {
            for (queued, answer) in batch.into_iter().zip(answers) {
                // The caller may be gone (its request cancelled); the write stands.
                let _ = queued.answer.send(answer);
            }
        }
        Err(failed) => {
            let error = match failed {
                Failed::Transaction(error) => error,
                Failed::Write(_) => StoreError::Backend("a savepoint did not hold".to_owned()),
            };
            for queued in batch {
                let _ = queued.answer.send(Err(error.clone()));
            }
        }
    }
}

/// Why a batch was not committed.
enum Failed {
    /// A write failed (without savepoints): the batch was rolled back.
    Write(Answer),
    /// The transaction failed: every write of the batch is lost.
    Transaction(StoreError),
}

impl From<sqlx::Error> for Failed {
    fn from(error: sqlx::Error) -> Self {
        Self::Transaction(error.into())
    }
}

/// Runs `batch` in one transaction, each write in a savepoint if
/// `savepoints`, and commits it; without savepoints the first write that
/// fails rolls the batch back.
async fn run_batch<DB: Backend>(
    pool: &Pool<DB>,
    batch: &[Queued<DB>],
    savepoints: bool,
) -> Result<Vec<Answer>, Failed>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut tx = pool.begin().await?;
    let mut answers = Vec::with_capacity(batch.len());
    for queued in batch {
        if !savepoints {
            let answer = (queued.statements)(&mut tx).await;
            if answer.is_err() {
                tx.rollback().await?;
                return Err(Failed::Write(answer));
            }
            answers.push(answer);
            continue;
        }
        sqlx::query("SAVEPOINT write").execute(&mut *tx).await?;
        let answer = (queued.statements)(&mut tx).await;
        if answer.is_err() {
            sqlx::query("ROLLBACK TO write").execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE write").execute(&mut *tx).await?;
        answers.push(answer);
    }
    tx.commit().await?;
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use futures::future::join_all;
    use sqlx::Sqlite;
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    async fn table() -> Pool<Sqlite> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    /// Inserts `x`, then `then` (which fails if it is taken).
    async fn insert(writer: &Writer<Sqlite>, x: i64, then: i64) -> StoreResult<i64> {
        writer
            .run(move |conn| {
                Box::pin(async move {
                    for value in [x, then] {
                        sqlx::query("INSERT INTO t VALUES ($1)")
                            .bind(value)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(x)
                })
            })
            .await
    }

    async fn stored(pool: &Pool<Sqlite>) -> Vec<i64> {
        sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn writes_queued_together_commit_together_and_a_failed_one_fails_alone() {
        let pool = table().await;
        let writer = Writer::grouped(pool.clone());
        // Queued before the writer task runs, so they make one batch; the
        // third inserts 5, then 2, which the first took.
        let answers = join_all([(1, 2), (3, 4), (5, 2), (6, 7)].map(|(x, then)| {
            let writer = &writer;
            async move { insert(writer, x, then).await }
        }))
        .await;
        assert_eq!(answers[0].as_ref().ok(), Some(&1));
        assert_eq!(answers[1].as_ref().ok(), Some(&3));
        assert!(
            matches!(&answers[2], Err(StoreError::Backend(message)) if message.contains("UNIQUE")),
            "{answers:?}"
        );
        assert_eq!(answers[3].as_ref().ok(), Some(&6));
        // Nothing of the failed write stays: not even its first insert (5).
        assert_eq!(stored(&pool).await, [1, 2, 3, 4, 6, 7]);
    }

    #[tokio::test]
    async fn a_batch_without_failures_runs_each_write_once() {
        let pool = table().await;
        let writer = Writer::grouped(pool.clone());
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let answers = join_all((1..=3).map(|x| {
            let (writer, runs) = (&writer, std::sync::Arc::clone(&runs));
            async move {
                writer
                    .run(move |conn| {
                        runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Box::pin(async move {
                            sqlx::query("INSERT INTO t VALUES ($1)")
                                .bind(x)
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .await
            }
        }))
        .await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(stored(&pool).await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_lone_write_that_fails_leaves_nothing() {
        let pool = table().await;
        let writer = Writer::grouped(pool.clone());
        assert!(insert(&writer, 1, 1).await.is_err());
        assert_eq!(stored(&pool).await, Vec::<i64>::new());
        assert_eq!(insert(&writer, 1, 2).await.ok(), Some(1));
        assert_eq!(stored(&pool).await, [1, 2]);
    }

    #[tokio::test]
    async fn each_alone_commits_or_rolls_back_each_write() {
        let pool = table().await;
        let writer = Writer::each_alone(pool.clone());
        assert_eq!(insert(&writer, 1, 2).await.ok(), Some(1));
        assert!(insert(&writer, 3, 1).await.is_err());
        assert_eq!(stored(&pool).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_batch_whose_transaction_cannot_begin_fails_every_write() {
        let pool = table().await;
        let writer = Writer::grouped(pool.clone());
        pool.close().await;
        let answers = join_all([1, 2].map(|x| {
            let writer = &writer;
            async move { insert(writer, x, x + 10).await }
        }))
        .await;
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Err(StoreError::Unavailable(_)))),
            "{answers:?}"
        );
    }
}
