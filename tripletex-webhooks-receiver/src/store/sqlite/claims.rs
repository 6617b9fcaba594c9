//! The [`SqliteStore`]'s claims, in the database, so that every connection,
//! handle and process on the file shares them.

use std::time::Duration;

use sqlx::{Row, SqlitePool};

use super::{SqliteStore, now_ms};
use crate::dedup::{Mark, Seen};
use crate::store::{Claim, Lease, StoreError, mark_params};

/// One row per key claimed and not yet committed or released (or lapsed and
/// not yet replaced or purged).
pub(super) const CREATE: &str = "CREATE TABLE IF NOT EXISTS tripletex_webhook_claims (
    dedup_key TEXT PRIMARY KEY NOT NULL,
    claim_token TEXT NOT NULL,
    claimed_until_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// Takes the claim on ?1 for the token ?2 until ?4 when the mark (?6 kind,
/// ?7 version) is new after the record (the rules of `dedup::decide`, as in
/// `PostgresStore`'s claim; records older than the cutoff ?5 do not count)
/// and no other token's claim is live at ?3. One statement: SQLite takes the
/// file's write lock before it reads, so comparing and claiming are atomic
/// for every connection and process.
const TAKE: &str = "INSERT INTO tripletex_webhook_claims (dedup_key, claim_token, claimed_until_ms)
    SELECT ?1, ?2, ?4
    WHERE NOT EXISTS (
        SELECT 1 FROM tripletex_webhook_dedup AS r
        WHERE r.dedup_key = ?1 AND r.recorded_at_ms >= ?5 AND NOT CASE ?6
            WHEN 'version' THEN NOT r.deleted AND (r.version IS NULL OR r.version < ?7)
            WHEN 'tombstone' THEN NOT r.deleted
            ELSE 0 END)
    ON CONFLICT (dedup_key) DO UPDATE SET
        claim_token = excluded.claim_token,
        claimed_until_ms = excluded.claimed_until_ms
    WHERE tripletex_webhook_claims.claimed_until_ms <= ?3
        OR tripletex_webhook_claims.claim_token = ?2";

/// A key's record (unless older than the cutoff ?2) and claim, in one
/// snapshot.
const STATE: &str = "SELECT r.version, r.deleted, r.dedup_key IS NOT NULL AS recorded,
        c.claim_token, c.claimed_until_ms
    FROM (SELECT ?1 AS dedup_key) AS k
    LEFT JOIN tripletex_webhook_dedup AS r
        ON r.dedup_key = k.dedup_key AND r.recorded_at_ms >= ?2
    LEFT JOIN tripletex_webhook_claims AS c ON c.dedup_key = k.dedup_key";

/// Releases the claim on ?1 if the token ?2 holds it.
pub(super) const RELEASE: &str =
    "DELETE FROM tripletex_webhook_claims WHERE dedup_key = ?1 AND claim_token = ?2";

/// Deletes the claims lapsed at ?1.
pub(super) const PURGE: &str = "DELETE FROM tripletex_webhook_claims WHERE claimed_until_ms <= ?1";

/// How often a claim is tried when the other claim that kept it from being
/// taken is gone by the time it is read, before the answer is `Busy`.
const ATTEMPTS: usize = 3;

/// [`DedupStore::claim`](crate::DedupStore::claim) on `key` (a row key).
pub(super) async fn claim(
    store: &SqliteStore,
    key: &str,
    mark: Mark,
    lease: &Lease,
) -> Result<Claim, StoreError> {
    for _ in 0..ATTEMPTS {
        let taken = take(store, key, mark, lease).await?;
        let state = State::read(store, key).await?;
        let decided = Claim::decide(state.seen, mark);
        let new = matches!(decided, Claim::Claimed { .. });
        if taken && !new {
            // Recorded without a claim meanwhile: never keep a claim nobody
            // will use.
            release(&store.pool, key, lease).await?;
        }
        if taken || !new {
            return Ok(decided);
        }
        if let Some(remaining) = state.held_by_another(lease) {
            return Ok(Claim::Busy {
                retry_after: Some(remaining),
            });
        }
    }
    Ok(Claim::Busy { retry_after: None })
}

/// Releases `lease`'s claim on `key`, if it holds it.
pub(super) async fn release(pool: &SqlitePool, key: &str, lease: &Lease) -> Result<(), StoreError> {
    sqlx::query(RELEASE)
        .bind(key)
        .bind(lease.token())
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes the claim on `key` for `lease` if `mark` is new and the key free
/// (or already `lease`'s); whether it did.
async fn take(
    store: &SqliteStore,
    key: &str,
    mark: Mark,
    lease: &Lease,
) -> Result<bool, StoreError> {
    let (kind, version) = mark_params(mark);
    let now = now_ms();
    let ttl = i64::try_from(lease.ttl_millis()).unwrap_or(i64::MAX);
    let taken = sqlx::query(TAKE)
        .bind(key)
        .bind(lease.token())
        .bind(now)
        .bind(now.saturating_add(ttl))
        .bind(store.cutoff())
        .bind(kind)
        .bind(version)
        .execute(&store.pool)
        .await?;
    Ok(taken.rows_affected() == 1)
}

/// What [`STATE`] read.
struct State {
    seen: Option<Seen>,
    /// The claim's token and when it lapses.
    claim: Option<(String, i64)>,
}

impl State {
    async fn read(store: &SqliteStore, key: &str) -> Result<Self, StoreError> {
        let row = sqlx::query(STATE)
            .bind(key)
            .bind(store.cutoff())
            .fetch_one(&store.pool)
            .await?;
        let seen = if row.try_get::<bool, _>("recorded")? {
            Some(Seen {
                version: row.try_get("version")?,
                deleted: row.try_get::<i64, _>("deleted")? != 0,
            })
        } else {
            None
        };
        let token: Option<String> = row.try_get("claim_token")?;
        let until: Option<i64> = row.try_get("claimed_until_ms")?;
        Ok(Self {
            seen,
            claim: token.zip(until),
        })
    }

    /// How long the claim still lasts, when another lease's live claim holds
    /// the key.
    fn held_by_another(&self, lease: &Lease) -> Option<Duration> {
        let (token, until) = self.claim.as_ref()?;
        let remaining = until.checked_sub(now_ms()).filter(|ms| *ms > 0)?;
        (token != lease.token()).then(|| Duration::from_millis(remaining.unsigned_abs()))
    }
}
