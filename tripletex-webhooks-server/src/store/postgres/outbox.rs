//! The dispatcher's queries on PostgreSQL. Instances claim with
//! `FOR UPDATE SKIP LOCKED`, so they never lease the same message, and the
//! failure streak and disabling happen in single statements, computed once.
//! (Below: the former SQLite note, kept where it still applies.) All writes go through the single writer
//! connection, so claims never race each other within a process; a second
//! process on the same file is serialised by SQLite's own lock.

use async_trait::async_trait;
use secrecy::SecretString;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use tripletex_webhooks_types::EventType;

use super::PgStore;
use crate::store::outbox::{
    AttemptOutcome, AttemptRecord, Claim, ClaimedMessage, DeliveryFilter, DeliveryRecord,
    HealthPolicy, NextStep, Outbox, lease_now_ms, target_key,
};
use crate::store::{StoreError, StoreResult};

/// Closes the pending, unleased messages of a subscription that is no longer
/// ACTIVE. Runs when its status changes; `CLOSE_INACTIVE` does the same for
/// the failures of each recorded batch (a message that was in flight at the
/// change is closed when its outcome comes).
pub(super) async fn close_if_inactive(
    conn: &mut PgConnection,
    subscription_id: i64,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE messages SET status = 'failed', last_error = 'subscription not active', \
             finished_at_ms = $1, lease_until_ms = NULL \
         WHERE subscription_id = $2 AND status = 'pending' \
           AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
           AND (SELECT status FROM subscriptions WHERE id = $2) != 'ACTIVE'",
    )
    .bind(now_ms)
    .bind(subscription_id)
    .bind(lease_now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// When a new version of an object is enqueued, the older pending versions for
/// the same subscriptions that are not in flight are replaced by it.
pub(super) async fn supersede_older(
    conn: &mut PgConnection,
    company_id: i64,
    event: &EventType,
    object_id: i64,
    version: i32,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE messages SET status = 'superseded', finished_at_ms = $1 \
         WHERE subscription_id IN (SELECT id FROM subscriptions WHERE company_id = $2 AND event = $3) \
           AND subject = $6 AND object_id = $4 AND status = 'pending' AND object_version < $5 \
           AND (lease_until_ms IS NULL OR lease_until_ms <= $7)",
    )
    .bind(now_ms)
    .bind(company_id)
    .bind(event.to_string())
    .bind(object_id)
    .bind(version)
    .bind(event.subject().as_str())
    .bind(lease_now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Due messages with no sibling (same subscription and object) in flight, no
/// newer pending version, and no older pending unversioned message.
const CLAIMABLE: &str = "SELECT m.id, s.target_url FROM messages m JOIN subscriptions s ON s.id = m.subscription_id \
     WHERE m.status = 'pending' AND m.next_attempt_at_ms <= $1 \
       AND (m.lease_until_ms IS NULL OR m.lease_until_ms <= $3) AND s.status = 'ACTIVE' {skip} \
       AND NOT EXISTS (SELECT 1 FROM messages o \
                       WHERE o.subscription_id = m.subscription_id AND o.subject = m.subject \
                         AND o.object_id = m.object_id AND o.id != m.id \
                         AND ((o.status = 'pending' \
                               AND (o.lease_until_ms > $3 \
                                    OR (o.object_version IS NULL AND m.object_version IS NULL AND o.id < m.id))) \
                              OR (o.status IN ('pending', 'delivered') AND o.object_version > m.object_version))) \
     ORDER BY m.next_attempt_at_ms, m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED";

const CLAIMED_DETAILS: &str = "SELECT m.id, m.company_id, m.subscription_id, m.event, m.object_id, \
         m.payload, m.idempotency_key, m.attempts, m.lease_until_ms, s.target_url, s.fields, s.auth_header_name, \
         s.auth_header_value, s.hmac_shared_secret \
     FROM messages m JOIN subscriptions s ON s.id = m.subscription_id";

/// Ids as a SQL list; they are integers, so nothing can be injected.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn claimed_from_row(row: &PgRow) -> StoreResult<ClaimedMessage> {
    let event: String = row.try_get("event")?;
    Ok(ClaimedMessage {
        id: row.try_get("id")?,
        company_id: row.try_get("company_id")?,
        subscription_id: row.try_get("subscription_id")?,
        event: event
            .parse()
            .map_err(|e| StoreError::Backend(format!("stored event: {e}")))?,
        object_id: row.try_get("object_id")?,
        payload: row.try_get("payload")?,
        idempotency_key: row.try_get("idempotency_key")?,
        attempts: row.try_get("attempts")?,
        lease_until_ms: row.try_get("lease_until_ms")?,
        target_url: row.try_get("target_url")?,
        fields: row.try_get("fields")?,
        auth_header_name: row.try_get("auth_header_name")?,
        auth_header_value: row
            .try_get::<Option<String>, _>("auth_header_value")?
            .map(SecretString::from),
        hmac_shared_secret: row
            .try_get::<Option<String>, _>("hmac_shared_secret")?
            .map(SecretString::from),
    })
}

/// One recorded attempt, as a row of the JSON array the batch statements read.
fn outcome_row(outcome: &AttemptOutcome) -> serde_json::Value {
    let (status, next_at) = match outcome.next {
        NextStep::Delivered => ("delivered", None),
        NextStep::RetryAt(at) => ("pending", Some(at)),
        NextStep::GiveUp | NextStep::Release => ("failed", None),
    };
    serde_json::json!({
        "id": outcome.message_id,
        "sub": outcome.subscription_id,
        "lease": outcome.lease_until_ms,
        "at": outcome.attempted_at_ms,
        "dur": outcome.duration_ms,
        "code": outcome.status_code,
        "error": outcome.error,
        "status": status,
        "next": next_at,
        "finished": outcome.attempted_at_ms + outcome.duration_ms,
    })
}

/// Attempts are logged, and messages updated, with one statement per batch:
/// the batch travels as one JSON parameter read with `jsonb_array_elements`.
const INSERT_ATTEMPTS: &str = "INSERT INTO attempts (message_id, attempted_at_ms, duration_ms, status_code, error) \
     SELECT (value->>'id')::bigint, (value->>'at')::bigint, (value->>'dur')::bigint, (value->>'code')::integer, \
            value->>'error' \
     FROM jsonb_array_elements($1::jsonb)";

/// Only messages still holding the attempt's lease are updated: if the lease
/// expired and another attempt claimed the message, that attempt decides.
const UPDATE_MESSAGES: &str = "UPDATE messages SET status = j.status, attempts = attempts + 1, lease_until_ms = NULL, \
         next_attempt_at_ms = COALESCE(j.next_at, messages.next_attempt_at_ms), last_error = j.error, \
         finished_at_ms = CASE WHEN j.status = 'pending' THEN NULL ELSE j.finished END \
     FROM (SELECT (value->>'id')::bigint AS id, (value->>'lease')::bigint AS lease, value->>'status' AS status, \
                  (value->>'next')::bigint AS next_at, value->>'error' AS error, \
                  (value->>'finished')::bigint AS finished \
           FROM jsonb_array_elements($1::jsonb)) AS j \
     WHERE messages.id = j.id AND messages.lease_until_ms = j.lease";

/// A success ends the subscription's failure streak.
const END_STREAKS: &str = "UPDATE subscriptions SET failing_since_ms = NULL \
     WHERE failing_since_ms IS NOT NULL \
       AND id IN (SELECT (value->>'sub')::bigint FROM jsonb_array_elements($1::jsonb) \
                  WHERE value->>'status' = 'delivered')";

/// A delivered version supersedes the older pending versions of the same
/// object for the same subscription (say, one whose attempt was lost with a
/// crashed instance and whose lease expired): they must never follow it.
const SUPERSEDE_DELIVERED: &str = "UPDATE messages SET status = 'superseded', finished_at_ms = $2, lease_until_ms = NULL \
     WHERE id IN (SELECT o.id FROM jsonb_array_elements($1::jsonb) AS j \
                  JOIN messages d ON d.id = (j.value->>'id')::bigint \
                  JOIN messages o ON o.subscription_id = d.subscription_id AND o.subject = d.subject \
                                 AND o.object_id = d.object_id AND o.status = 'pending' \
                  WHERE j.value->>'status' = 'delivered' AND o.object_version < d.object_version)";

/// The failures of a batch, in one statement each (never one per failure:
/// a dead target fails 32 attempts at once, and the writer is shared).
///
/// A failure starts or continues its subscription's streak, and disables the
/// subscription once the streak is long enough. SET expressions see the row
/// as it was, so the streak's start is the stored one, or the batch's first
/// failure when the streak begins now. Takes the policy's `disable_after_ms`
/// as the second parameter.
const FAIL_STREAKS: &str = "UPDATE subscriptions SET failing_since_ms = COALESCE(failing_since_ms, f.first_at), \
         status = CASE WHEN status = 'ACTIVE' AND f.last_at - COALESCE(failing_since_ms, f.first_at) >= $2 \
                       THEN 'DISABLED_TOO_MANY_ERRORS' ELSE status END \
     FROM (SELECT (value->>'sub')::bigint AS sub, MIN((value->>'at')::bigint) AS first_at, \
                  MAX((value->>'at')::bigint) AS last_at \
           FROM jsonb_array_elements($1::jsonb) WHERE value->>'status' != 'delivered' GROUP BY 1) AS f \
     WHERE subscriptions.id = f.sub";

/// A failed older version is superseded instead of retried when a newer one
/// of the same object is pending or delivered for the same subscription.
const SUPERSEDE_FAILED: &str = "UPDATE messages SET status = 'superseded', finished_at_ms = j.finished \
     FROM (SELECT (value->>'id')::bigint AS id, (value->>'finished')::bigint AS finished \
           FROM jsonb_array_elements($1::jsonb) WHERE value->>'status' != 'delivered') AS j \
     WHERE messages.id = j.id AND messages.status = 'pending' AND messages.object_version IS NOT NULL \
       AND EXISTS (SELECT 1 FROM messages n \
                   WHERE n.subscription_id = messages.subscription_id AND n.subject = messages.subject \
                     AND n.object_id = messages.object_id AND n.status IN ('pending', 'delivered') \
                     AND n.object_version > messages.object_version)";

/// The pending, unleased messages of a subscription that is no longer ACTIVE
/// (just disabled above, or changed while the attempt was in flight) are
/// closed, as [`close_if_inactive`] does on a status change.
const CLOSE_INACTIVE: &str = "UPDATE messages SET status = 'failed', last_error = 'subscription not active', \
         finished_at_ms = j.finished, lease_until_ms = NULL \
     FROM (SELECT (value->>'sub')::bigint AS sub, MAX((value->>'finished')::bigint) AS finished \
           FROM jsonb_array_elements($1::jsonb) WHERE value->>'status' != 'delivered' GROUP BY 1) AS j \
     JOIN subscriptions s ON s.id = j.sub AND s.status != 'ACTIVE' \
     WHERE messages.subscription_id = j.sub AND messages.status = 'pending' \
       AND (messages.lease_until_ms IS NULL OR messages.lease_until_ms <= $2)";

async fn record_batch(
    conn: &mut PgConnection,
    outcomes: &[AttemptOutcome],
    policy: HealthPolicy,
) -> StoreResult<()> {
    let (released, attempted): (Vec<&AttemptOutcome>, Vec<&AttemptOutcome>) =
        outcomes.iter().partition(|o| o.next == NextStep::Release);
    for outcome in released {
        sqlx::query("UPDATE messages SET lease_until_ms = NULL, next_attempt_at_ms = $1 WHERE id = $2 AND lease_until_ms = $3")
            .bind(outcome.attempted_at_ms)
            .bind(outcome.message_id)
            .bind(outcome.lease_until_ms)
            .execute(&mut *conn)
            .await?;
    }
    if attempted.is_empty() {
        return Ok(());
    }
    let rows =
        serde_json::Value::Array(attempted.iter().map(|o| outcome_row(o)).collect()).to_string();
    sqlx::query(INSERT_ATTEMPTS)
        .bind(&rows)
        .execute(&mut *conn)
        .await?;
    let updated = sqlx::query(UPDATE_MESSAGES)
        .bind(&rows)
        .execute(&mut *conn)
        .await?;
    let fenced = attempted.len() as u64 - updated.rows_affected().min(attempted.len() as u64);
    if fenced > 0 {
        tracing::warn!(fenced, "outcomes of expired leases ignored");
    }
    sqlx::query(END_STREAKS)
        .bind(&rows)
        .execute(&mut *conn)
        .await?;
    let now_ms = attempted
        .iter()
        .map(|o| o.attempted_at_ms + o.duration_ms)
        .max()
        .unwrap_or_default();
    sqlx::query(SUPERSEDE_DELIVERED)
        .bind(&rows)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    if attempted.iter().any(|o| o.next != NextStep::Delivered) {
        sqlx::query(FAIL_STREAKS)
            .bind(&rows)
            .bind(policy.disable_after_ms)
            .execute(&mut *conn)
            .await?;
        sqlx::query(SUPERSEDE_FAILED)
            .bind(&rows)
            .execute(&mut *conn)
            .await?;
        sqlx::query(CLOSE_INACTIVE)
            .bind(&rows)
            .bind(lease_now_ms())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Outbox for PgStore {
    async fn claim_due(&self, claim: Claim<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        if claim.candidates == 0 {
            return Ok(Vec::new());
        }
        let lease_now = lease_now_ms();
        let skip = if claim.skip_subscriptions.is_empty() {
            String::new()
        } else {
            format!(
                "AND m.subscription_id NOT IN ({})",
                id_list(claim.skip_subscriptions)
            )
        };
        // Candidates are locked (skipping rows another instance is claiming)
        // until the lease is written and the transaction commits.
        let mut tx = self.pool.begin().await?;
        let candidates: Vec<(i64, String)> = sqlx::query_as(&CLAIMABLE.replace("{skip}", &skip))
            .bind(claim.now_ms)
            .bind(i64::try_from(claim.candidates).unwrap_or(i64::MAX))
            .bind(lease_now)
            .fetch_all(&mut *tx)
            .await?;
        let ids: Vec<i64> = candidates
            .into_iter()
            .filter(|(_, target_url)| (claim.accept)(target_key(target_url)))
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        // The lease runs on real time (an emulator clock advance must not
        // expire it); the schedule moves a lease ahead on the server clock, so
        // the message is due again once both have passed, without any sweep.
        let leased: Vec<i64> = sqlx::query_scalar(&format!(
            "UPDATE messages SET lease_until_ms = $1, next_attempt_at_ms = $3 \
             WHERE id IN ({}) AND status = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms <= $2) \
             RETURNING id",
            id_list(&ids)
        ))
        .bind(lease_now + claim.lease_ms)
        .bind(lease_now)
        .bind(claim.now_ms + claim.lease_ms)
        .fetch_all(&mut *tx)
        .await?;
        if leased.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let claimed = sqlx::query(&format!(
            "{CLAIMED_DETAILS} WHERE m.id IN ({}) ORDER BY m.id",
            id_list(&leased)
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(claimed_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record(&self, outcomes: &[AttemptOutcome], policy: HealthPolicy) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        record_batch(&mut tx, outcomes, policy).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn defer(
        &self,
        subscription_ids: &[i64],
        now_ms: i64,
        until_ms: i64,
    ) -> StoreResult<u64> {
        if subscription_ids.is_empty() {
            return Ok(0);
        }
        let moved = sqlx::query(&format!(
            "UPDATE messages SET next_attempt_at_ms = $2 \
             WHERE subscription_id IN ({}) AND status = 'pending' AND next_attempt_at_ms <= $1 \
               AND (lease_until_ms IS NULL OR lease_until_ms <= $3)",
            id_list(subscription_ids)
        ))
        .bind(now_ms)
        .bind(until_ms)
        .bind(lease_now_ms())
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected())
    }

    async fn release_all_leases(&self, _now_ms: i64) -> StoreResult<u64> {
        // Other instances may be alive and holding these leases: let them expire.
        Ok(0)
    }

    async fn next_due_at(&self) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at_ms) FROM messages WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn deliveries(
        &self,
        company_id: i64,
        filter: &DeliveryFilter,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        // One snapshot: an attempt and its message's status are read together.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT id, subscription_id, event, object_id, object_version, idempotency_key, status, attempts, \
                 next_attempt_at_ms, created_at_ms, finished_at_ms, last_error \
             FROM messages WHERE company_id = $1 AND ($2 IS NULL OR subscription_id = $2) \
               AND ($3 IS NULL OR status = $3) ORDER BY id DESC",
        )
        .bind(company_id)
        .bind(filter.subscription_id)
        .bind(filter.status.as_deref())
        .fetch_all(&mut *tx)
        .await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            let attempt_log = sqlx::query(
                "SELECT attempted_at_ms, duration_ms, status_code, error FROM attempts WHERE message_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|a| {
                Ok(AttemptRecord {
                    attempted_at_ms: a.try_get("attempted_at_ms")?,
                    duration_ms: a.try_get("duration_ms")?,
                    status_code: a
                        .try_get::<Option<i32>, _>("status_code")?
                        .and_then(|c| u16::try_from(c).ok()),
                    error: a.try_get("error")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
            records.push(DeliveryRecord {
                id,
                subscription_id: row.try_get("subscription_id")?,
                event: row.try_get("event")?,
                object_id: row.try_get("object_id")?,
                object_version: row.try_get("object_version")?,
                idempotency_key: row.try_get("idempotency_key")?,
                next_attempt_at_ms: if status == "pending" {
                    row.try_get("next_attempt_at_ms")?
                } else {
                    None
                },
                status,
                attempts: row.try_get("attempts")?,
                created_at_ms: row.try_get("created_at_ms")?,
                finished_at_ms: row.try_get("finished_at_ms")?,
                last_error: row.try_get("last_error")?,
                attempt_log,
            });
        }
        tx.commit().await?;
        Ok(records)
    }

    fn enqueued(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.enqueued)
    }

    async fn redeliver(&self, company_id: i64, message_id: i64, now_ms: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at_ms = $1, lease_until_ms = NULL, \
                 finished_at_ms = NULL, last_error = NULL \
             WHERE id = $2 AND company_id = $3 AND (status != 'pending' OR lease_until_ms IS NULL)",
        )
        .bind(now_ms)
        .bind(message_id)
        .bind(company_id)
        .execute(&self.pool)
        .await?;
        self.enqueued.notify_one();
        Ok(result.rows_affected() > 0)
    }
}
