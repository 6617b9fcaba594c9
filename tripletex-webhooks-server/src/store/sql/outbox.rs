//! The dispatcher's statements. A claim leases due messages on real time;
//! where the engine locks rows (PostgreSQL), candidates are locked with
//! `SKIP LOCKED` so that processes never lease the same message. Outcomes are
//! recorded a batch per statement, the batch travelling as one JSON parameter.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Encode, Executor, Type};
use tokio::sync::Notify;
use tripletex_webhooks_types::emulator::DeliveryRecord;
use tripletex_webhooks_types::fields::FieldsFilter;

use super::{Backend, SqlStore};
use crate::delivery::sender::envelope_body;
use crate::store::bodies::{Dictionaries, hex};
use crate::store::outbox::{
    AttemptOutcome, Claim, ClaimedMessage, DeliveryFilter, HealthPolicy, NextStep, Outbox,
    lease_now_ms, target_key,
};
use crate::store::rows::{
    Column, Columns, DELIVERY_COLUMNS, EXCHANGE_COLUMNS, PAYLOAD_COLUMNS, PAYLOAD_JOIN,
    StoredPayload, attempt_from_row, claimed_from_row, delivery_from_row, packed_exchange,
    payload_from_row,
};
use crate::store::{Page, StoreError, StoreResult};

/// Due messages with no sibling (same subscription and object) in flight, no
/// newer pending version, and no older pending unversioned message.
const CLAIMABLE: &str = "SELECT m.id, s.target_url FROM messages m \
     JOIN subscriptions s ON s.id = m.subscription_id \
     WHERE m.status = 'pending' AND m.next_attempt_at_ms <= $1 \
       AND (m.lease_until_ms IS NULL OR m.lease_until_ms <= $3) AND s.status = 'ACTIVE' {skip} \
       AND NOT EXISTS (SELECT 1 FROM messages o \
                       WHERE o.subscription_id = m.subscription_id AND o.subject = m.subject \
                         AND o.object_id = m.object_id AND o.id != m.id \
                         AND ((o.status = 'pending' \
                               AND (o.lease_until_ms > $3 \
                                    OR (o.object_version IS NULL AND m.object_version IS NULL \
                                        AND o.id < m.id))) \
                              OR (o.status IN ('pending', 'delivered') \
                                  AND o.object_version > m.object_version))) \
     ORDER BY m.next_attempt_at_ms, m.id LIMIT $2 {lock}";

/// The claimed messages `{ids}` with their subscriptions and payloads.
fn claimed_details(ids: &[i64]) -> String {
    format!(
        "SELECT m.id, m.company_id, m.subscription_id, m.event, m.object_id, m.object_version, \
             m.request_id, m.idempotency_key, m.attempts, m.lease_until_ms, s.target_url, \
             s.fields, s.auth_header_name, s.auth_header_value, s.hmac_shared_secret, \
             {PAYLOAD_COLUMNS} \
         FROM messages m JOIN subscriptions s ON s.id = m.subscription_id {PAYLOAD_JOIN} \
         WHERE m.id IN ({}) ORDER BY m.id",
        id_list(ids)
    )
}

/// The outcomes of a batch as rows: the JSON array `{rows}` reads, with the
/// columns its statements use (`failed` where the status is not `delivered`;
/// `{exchange}` the blob whose hex digits `exchange` has).
const BATCH: &str = "(SELECT CAST(value->>'id' AS BIGINT) AS id, CAST(value->>'sub' AS BIGINT) AS sub, \
            CAST(value->>'lease' AS BIGINT) AS lease, value->>'status' AS status, \
            value->>'status' != 'delivered' AS failed, CAST(value->>'at' AS BIGINT) AS at_ms, \
            CAST(value->>'dur' AS BIGINT) AS duration_ms, CAST(value->>'code' AS INTEGER) AS code, \
            value->>'error' AS error, CAST(value->>'next' AS BIGINT) AS next_at, \
            CAST(value->>'finished' AS BIGINT) AS finished, {exchange} AS exchange, \
            CAST(value->>'dictionary' AS BIGINT) AS dictionary \
     FROM {rows}) AS j";

/// The attempts of a batch.
const INSERT_ATTEMPTS: &str = "INSERT INTO attempts (message_id, attempted_at_ms, duration_ms, \
         status_code, error, exchange_deflated, exchange_dictionary) \
     SELECT id, at_ms, duration_ms, code, error, exchange, dictionary FROM {batch}";

/// The messages of the delivery log that its filter lets through: `$1` the
/// company, `$2` to `$7` the optional filters (each `NULL` when unset).
const DELIVERY_FILTER: &str = "company_id = $1 AND ($2 IS NULL OR subscription_id = $2) \
       AND ($3 IS NULL OR event = $3) AND ($4 IS NULL OR object_id = $4) \
       AND ($5 IS NULL OR status = $5) AND ($6 IS NULL OR created_at_ms >= $6) \
       AND ($7 IS NULL OR created_at_ms < $7)";

/// Retention deletes this many messages per transaction, so that it never
/// holds the writer long.
const RETENTION_BATCH: u16 = 1_000;

/// Only messages still holding the attempt's lease are updated: if the lease
/// expired and another attempt claimed the message, that attempt decides.
const UPDATE_MESSAGES: &str = "UPDATE messages SET status = j.status, attempts = attempts + 1, \
         lease_until_ms = NULL, next_attempt_at_ms = COALESCE(j.next_at, messages.next_attempt_at_ms), \
         last_error = j.error, \
         finished_at_ms = CASE WHEN j.status = 'pending' THEN NULL ELSE j.finished END \
     FROM {batch} WHERE messages.id = j.id AND messages.lease_until_ms = j.lease";

/// A success ends the subscription's failure streak.
const END_STREAKS: &str = "UPDATE subscriptions SET failing_since_ms = NULL \
     WHERE failing_since_ms IS NOT NULL AND id IN (SELECT sub FROM {batch} WHERE NOT failed)";

/// A delivered version supersedes the older pending versions of the same
/// object for the same subscription (say, one whose attempt was lost with a
/// crashed process and whose lease expired): they must never follow it.
/// Takes the batch's end as `$2`.
const SUPERSEDE_DELIVERED: &str = "UPDATE messages SET status = 'superseded', \
         finished_at_ms = $2, lease_until_ms = NULL \
     WHERE id IN (SELECT o.id FROM {batch} JOIN messages d ON d.id = j.id \
                  JOIN messages o ON o.subscription_id = d.subscription_id \
                                 AND o.subject = d.subject AND o.object_id = d.object_id \
                                 AND o.status = 'pending' \
                  WHERE NOT j.failed AND o.object_version < d.object_version)";

/// The failures of a batch, in one statement each (never one per failure:
/// a dead target fails 32 attempts at once, and the writer is shared).
///
/// A failure starts or continues its subscription's streak, and disables the
/// subscription once the streak is long enough. SET expressions see the row
/// as it was, so the streak's start is the stored one, or the batch's first
/// failure when the streak begins now. Takes the policy's `disable_after_ms`
/// as `$2`.
const FAIL_STREAKS: &str = "UPDATE subscriptions \
     SET failing_since_ms = COALESCE(failing_since_ms, f.first_at), \
         status = CASE WHEN status = 'ACTIVE' \
                        AND f.last_at - COALESCE(failing_since_ms, f.first_at) >= $2 \
                       THEN 'DISABLED_TOO_MANY_ERRORS' ELSE status END \
     FROM (SELECT sub, MIN(at_ms) AS first_at, MAX(at_ms) AS last_at FROM {batch} \
           WHERE failed GROUP BY sub) AS f \
     WHERE subscriptions.id = f.sub";

/// A failed older version is superseded instead of retried when a newer one
/// of the same object is pending or delivered for the same subscription.
const SUPERSEDE_FAILED: &str = "UPDATE messages SET status = 'superseded', finished_at_ms = j.finished \
     FROM {batch} \
     WHERE j.failed AND messages.id = j.id AND messages.status = 'pending' \
       AND messages.object_version IS NOT NULL \
       AND EXISTS (SELECT 1 FROM messages n \
                   WHERE n.subscription_id = messages.subscription_id AND n.subject = messages.subject \
                     AND n.object_id = messages.object_id AND n.status IN ('pending', 'delivered') \
                     AND n.object_version > messages.object_version)";

/// The pending, unleased messages of a subscription that is no longer ACTIVE
/// (just disabled above, or changed while the attempt was in flight) are
/// closed, as a status change closes them. Takes lease time now as `$2`.
const CLOSE_INACTIVE: &str = "UPDATE messages SET status = 'failed', \
         last_error = 'subscription not active', finished_at_ms = f.finished, lease_until_ms = NULL \
     FROM (SELECT sub, MAX(finished) AS finished FROM {batch} WHERE failed GROUP BY sub) AS f \
     JOIN subscriptions s ON s.id = f.sub AND s.status != 'ACTIVE' \
     WHERE messages.subscription_id = f.sub AND messages.status = 'pending' \
       AND (messages.lease_until_ms IS NULL OR messages.lease_until_ms <= $2)";

/// Ids as a SQL list; they are integers, so nothing can be injected.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The claim's candidate query, without the skipped subscriptions, locking
/// where the engine does.
fn claimable<DB: Backend>(skip_subscriptions: &[i64]) -> String {
    let skip = if skip_subscriptions.is_empty() {
        String::new()
    } else {
        format!(
            "AND m.subscription_id NOT IN ({})",
            id_list(skip_subscriptions)
        )
    };
    CLAIMABLE
        .replace("{skip}", &skip)
        .replace("{lock}", DB::CLAIM_LOCK.unwrap_or_default())
}

/// The attempted outcomes of a batch as the JSON array its statements read,
/// each exchange deflated (as hex: the batch is text).
fn outcome_rows(attempted: &[&AttemptOutcome], dictionaries: &Dictionaries) -> StoreResult<String> {
    let mut rows = Vec::with_capacity(attempted.len());
    for outcome in attempted {
        let (status, next_at) = match outcome.next {
            NextStep::Delivered => ("delivered", None),
            NextStep::RetryAt(at) => ("pending", Some(at)),
            NextStep::GiveUp | NextStep::Release => ("failed", None),
        };
        let exchange = packed_exchange(dictionaries, &outcome.exchange, outcome.body_rendered)?;
        rows.push(serde_json::json!({
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
            "exchange": exchange.as_ref().map(|packed| hex(&packed.deflated)),
            "dictionary": exchange.and_then(|packed| packed.dictionary),
        }));
    }
    Ok(serde_json::Value::Array(rows).to_string())
}

/// Puts the attempts of `records` into their logs, oldest first, with their
/// exchanges or not; returns where (record, attempt) a request's body was
/// left out, to be rendered from its message.
async fn attach_attempts<DB: Backend>(
    conn: &mut DB::Connection,
    dictionaries: &Dictionaries,
    records: &mut [DeliveryRecord],
    exchanges: bool,
) -> StoreResult<Vec<(usize, usize)>>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut rendered = Vec::new();
    if records.is_empty() {
        return Ok(rendered);
    }
    let ids: Vec<i64> = records.iter().map(|record| record.id).collect();
    let extra = if exchanges {
        format!(", {EXCHANGE_COLUMNS}")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT message_id, attempted_at_ms, duration_ms, status_code, error{extra} \
         FROM attempts WHERE message_id IN ({}) ORDER BY id",
        id_list(&ids)
    );
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for row in sqlx::query(&sql).fetch_all(conn).await? {
        let message_id: i64 = row.read("message_id")?;
        if let Some(&i) = position.get(&message_id) {
            let (attempt, body_rendered) = attempt_from_row(&row, exchanges, dictionaries)?;
            if body_rendered {
                rendered.push((i, records[i].attempt_log.len()));
            }
            records[i].attempt_log.push(attempt);
        }
    }
    Ok(rendered)
}

/// The envelope a message's callbacks carried without a `fields` filter:
/// what an attempt's request body was where the store left it out.
async fn rendered_envelope<DB: Backend>(
    conn: &mut DB::Connection,
    record: &DeliveryRecord,
    url_base: &str,
    dictionaries: &Dictionaries,
) -> StoreResult<String>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let sql = format!(
        "SELECT m.object_id, m.object_version, {PAYLOAD_COLUMNS} FROM messages m {PAYLOAD_JOIN} \
         WHERE m.id = $1"
    );
    let row = sqlx::query(&sql).bind(record.id).fetch_one(conn).await?;
    let value = match payload_from_row(&row, dictionaries)?.into_value(url_base)? {
        Some(payload) => FieldsFilter::default().apply(&payload),
        None => serde_json::Value::Null,
    };
    let event = record
        .event
        .parse()
        .map_err(|e| StoreError::Backend(format!("stored event: {e}")))?;
    let body = envelope_body(record.subscription_id, event, record.object_id, value)
        .map_err(|e| StoreError::Backend(format!("rendering an envelope: {e}")))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The statements recording attempted outcomes, in order, each with its
/// second parameter if it takes one.
fn record_steps(
    attempted: &[&AttemptOutcome],
    policy: HealthPolicy,
) -> Vec<(&'static str, Option<i64>)> {
    let batch_end = attempted
        .iter()
        .map(|o| o.attempted_at_ms + o.duration_ms)
        .max()
        .unwrap_or_default();
    let mut steps = vec![
        (INSERT_ATTEMPTS, None),
        (UPDATE_MESSAGES, None),
        (END_STREAKS, None),
        (SUPERSEDE_DELIVERED, Some(batch_end)),
    ];
    if attempted.iter().any(|o| o.next != NextStep::Delivered) {
        steps.extend([
            (FAIL_STREAKS, Some(policy.disable_after_ms)),
            (SUPERSEDE_FAILED, None),
            (CLOSE_INACTIVE, Some(lease_now_ms())),
        ]);
    }
    steps
}

/// The leases a claim takes, on messages still pending and unleased.
#[derive(Clone)]
struct Lease {
    ids: Vec<i64>,
    /// When the leases end, on real time (an emulator clock advance must not
    /// expire them).
    until_ms: i64,
    /// Now, on real time.
    now_ms: i64,
    /// When the messages are due again on the server clock, so that a
    /// message whose lease ran out is due again without any sweep.
    due_ms: i64,
}

impl<DB: Backend> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    /// [`Outbox::deliveries`], once.
    async fn read_deliveries(
        &self,
        company_id: i64,
        filter: &DeliveryFilter,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<DeliveryRecord>> {
        // The count and the page in one statement: the count's one row
        // carries the page's rows, or none past the end.
        let order = if filter.oldest_first { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT c.full_size, m.* FROM (SELECT COUNT(*) AS full_size FROM messages \
                 WHERE {DELIVERY_FILTER}) AS c \
             LEFT JOIN (SELECT {DELIVERY_COLUMNS} FROM messages WHERE {DELIVERY_FILTER} \
                 ORDER BY id {order} LIMIT $8 OFFSET $9) AS m ON 1 = 1 \
             ORDER BY m.id {order}"
        );
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query(&sql)
            .bind(company_id)
            .bind(filter.subscription_id)
            .bind(filter.event.as_deref())
            .bind(filter.object_id)
            .bind(filter.status.as_deref())
            .bind(filter.created_from_ms)
            .bind(filter.created_to_ms)
            .bind(count)
            .bind(from)
            .fetch_all(&mut *tx)
            .await?;
        let total = rows.first().map_or(Ok(0), |row| row.read("full_size"))?;
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Option<i64> = row.read("id")?;
            if id.is_some() {
                values.push(delivery_from_row(row)?);
            }
        }
        attach_attempts::<DB>(&mut tx, &self.dictionaries, &mut values, false).await?;
        tx.commit().await?;
        Ok(Page {
            values,
            total,
            digest: None,
        })
    }

    /// [`Outbox::delivery`], once.
    async fn read_delivery(&self, company_id: i64, id: i64) -> StoreResult<Option<DeliveryRecord>> {
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM messages WHERE company_id = $1 AND id = $2");
        let mut tx = self.snapshot().await?;
        let row = sqlx::query(&sql)
            .bind(company_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut records = [delivery_from_row(&row)?];
        let rendered =
            attach_attempts::<DB>(&mut tx, &self.dictionaries, &mut records, true).await?;
        let [mut record] = records;
        if !rendered.is_empty() {
            let body =
                rendered_envelope::<DB>(&mut tx, &record, &self.url_base, &self.dictionaries)
                    .await?;
            for (_, attempt) in rendered {
                let exchange = record.attempt_log[attempt].exchange.as_mut();
                if let Some(request) = exchange.and_then(|e| e.request.as_mut()) {
                    request.message.body.clone_from(&body);
                }
            }
        }
        tx.commit().await?;
        Ok(Some(record))
    }

    /// Takes `lease`; returns the ids of the messages it leased.
    async fn take_leases(conn: &mut DB::Connection, lease: Lease) -> StoreResult<Vec<i64>> {
        sqlx::query(&format!(
            "UPDATE messages SET lease_until_ms = $1, next_attempt_at_ms = $3 \
             WHERE id IN ({}) AND status = 'pending' \
               AND (lease_until_ms IS NULL OR lease_until_ms <= $2) \
             RETURNING id",
            id_list(&lease.ids)
        ))
        .bind(lease.until_ms)
        .bind(lease.now_ms)
        .bind(lease.due_ms)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.read("id"))
        .collect()
    }

    /// What the leased messages `ids` need for delivery, each with its
    /// stored payload (rendered once the claim has committed).
    async fn claimed(
        conn: &mut DB::Connection,
        dictionaries: &Dictionaries,
        ids: &[i64],
    ) -> StoreResult<Vec<(ClaimedMessage, StoreResult<StoredPayload>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(&claimed_details(ids))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| claimed_from_row(row, dictionaries))
            .collect()
    }

    /// Records `count` attempted outcomes (`rows`, as JSON) by `steps`.
    async fn record_attempts(
        conn: &mut DB::Connection,
        rows: &str,
        steps: Vec<(&'static str, Option<i64>)>,
        count: u64,
    ) -> StoreResult<()> {
        let batch = BATCH
            .replace("{rows}", DB::JSON_ROWS)
            .replace("{exchange}", DB::UNHEX_EXCHANGE);
        for (template, second) in steps {
            let sql = template.replace("{batch}", &batch);
            let mut query = sqlx::query(&sql).bind(rows);
            if let Some(second) = second {
                query = query.bind(second);
            }
            let result = query.execute(&mut *conn).await?;
            if template == UPDATE_MESSAGES {
                let fenced = count.saturating_sub(DB::rows_affected(&result));
                if fenced > 0 {
                    tracing::warn!(fenced, "outcomes of expired leases ignored");
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<DB: Backend> Outbox for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    async fn claim_due(&self, claim: Claim<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        if claim.candidates == 0 {
            return Ok(Vec::new());
        }
        let lease_now = lease_now_ms();
        let sql = claimable::<DB>(claim.skip_subscriptions);
        let candidates = || {
            sqlx::query(&sql)
                .bind(claim.now_ms)
                .bind(i64::try_from(claim.candidates).unwrap_or(i64::MAX))
                .bind(lease_now)
        };
        // Locked candidates are read in the claim's transaction; unlocked
        // ones from a reader, so that the writer stays free meanwhile.
        let (mut tx, rows) = if DB::CLAIM_LOCK.is_some() {
            let mut tx = self.writer.begin().await?;
            let rows = candidates().fetch_all(&mut *tx).await?;
            (Some(tx), rows)
        } else {
            (None, candidates().fetch_all(&self.reader).await?)
        };
        // The candidates `accept` takes, in due order.
        let mut ids = Vec::new();
        for row in &rows {
            if (claim.accept)(target_key(row.text("target_url")?)) {
                ids.push(row.read("id")?);
            }
        }
        if ids.is_empty() {
            if let Some(tx) = tx.take() {
                tx.commit().await?;
            }
            return Ok(Vec::new());
        }
        let lease = Lease {
            ids,
            until_ms: lease_now + claim.lease_ms,
            now_ms: lease_now,
            due_ms: claim.now_ms + claim.lease_ms,
        };
        let (leased, mut claimed) = if let Some(mut tx) = tx {
            let leased = Self::take_leases(&mut tx, lease).await?;
            let claimed = Self::claimed(&mut tx, &self.dictionaries, &leased).await?;
            tx.commit().await?;
            (leased, claimed)
        } else {
            // The leases are this process's once committed: what they need
            // for delivery is read beside the writer, not on it.
            let leased = self
                .transactions
                .run(move |conn| Box::pin(Self::take_leases(conn, lease.clone())))
                .await?;
            let mut reader = self.reader.acquire().await?;
            let claimed = Self::claimed(&mut reader, &self.dictionaries, &leased).await?;
            (leased, claimed)
        };
        let unknown = |(_, payload): &(ClaimedMessage, StoreResult<StoredPayload>)| {
            payload
                .as_ref()
                .is_err_and(StoreError::names_unknown_dictionary)
        };
        if claimed.iter().any(unknown) {
            // Written by a newer release: read again with its dictionaries.
            self.load_new_dictionaries().await?;
            let mut reader = self.reader.acquire().await?;
            claimed = Self::claimed(&mut reader, &self.dictionaries, &leased).await?;
        }
        // Rendered once the writer is free again; a payload that does not
        // read fails its own message's attempt, not the claim.
        Ok(claimed
            .into_iter()
            .map(|(mut message, payload)| {
                message.payload = payload.and_then(|p| p.into_value(&self.url_base));
                message
            })
            .collect())
    }

    async fn record(&self, outcomes: &[AttemptOutcome], policy: HealthPolicy) -> StoreResult<()> {
        let (released, attempted): (Vec<&AttemptOutcome>, Vec<&AttemptOutcome>) =
            outcomes.iter().partition(|o| o.next == NextStep::Release);
        let released: Vec<_> = released
            .iter()
            .map(|o| (o.attempted_at_ms, o.message_id, o.lease_until_ms))
            .collect();
        let rows = if attempted.is_empty() {
            None
        } else {
            let rows = outcome_rows(&attempted, &self.dictionaries)?;
            Some((rows, record_steps(&attempted, policy)))
        };
        let count = attempted.len() as u64;
        self.transactions
            .run(move |conn| {
                let (released, rows) = (released.clone(), rows.clone());
                Box::pin(async move {
                    for (attempted_at_ms, message_id, lease_until_ms) in released {
                        sqlx::query(
                            "UPDATE messages SET lease_until_ms = NULL, next_attempt_at_ms = $1 \
                             WHERE id = $2 AND lease_until_ms = $3",
                        )
                        .bind(attempted_at_ms)
                        .bind(message_id)
                        .bind(lease_until_ms)
                        .execute(&mut *conn)
                        .await?;
                    }
                    if let Some((rows, steps)) = rows {
                        Self::record_attempts(conn, &rows, steps, count).await?;
                    }
                    Ok(())
                })
            })
            .await
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
        .execute(&self.writer)
        .await?;
        Ok(DB::rows_affected(&moved))
    }

    async fn release_all_leases(&self, now_ms: i64) -> StoreResult<u64> {
        if !DB::SINGLE_PROCESS {
            // Other processes may be alive and holding these leases: let them expire.
            return Ok(0);
        }
        let released = sqlx::query(
            "UPDATE messages SET lease_until_ms = NULL, next_attempt_at_ms = $1 \
             WHERE status = 'pending' AND lease_until_ms IS NOT NULL",
        )
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(DB::rows_affected(&released))
    }

    async fn next_due_at(&self) -> StoreResult<Option<i64>> {
        // On the writer, not a reader: asked after nearly every commit, and a
        // SQLite reader's page cache is dropped whenever the writer has
        // committed since its last read, so on a reader this re-read the index
        // from its root each time; with a million pending rows that made fresh
        // deliveries measurably slower (BENCHMARKS.md, fourth session).
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at_ms) AS due FROM messages WHERE status = 'pending'",
        )
        .fetch_one(&self.writer)
        .await?;
        row.read("due")
    }

    async fn deliveries(
        &self,
        company_id: i64,
        filter: &DeliveryFilter,
        from: i64,
        count: i64,
    ) -> StoreResult<Page<DeliveryRecord>> {
        self.knowing_dictionaries(|| self.read_deliveries(company_id, filter, from, count))
            .await
    }

    async fn delivery(&self, company_id: i64, id: i64) -> StoreResult<Option<DeliveryRecord>> {
        self.knowing_dictionaries(|| self.read_delivery(company_id, id))
            .await
    }

    async fn delete_finished(&self, before_ms: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let mut tx = self.writer.begin().await?;
            let ids = sqlx::query(
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
                     WHERE status != 'pending' AND finished_at_ms < $1 ORDER BY id LIMIT $2) \
                 RETURNING id",
            )
            .bind(before_ms)
            .bind(i64::from(RETENTION_BATCH))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.read("id"))
            .collect::<StoreResult<Vec<_>>>()?;
            if !ids.is_empty() {
                let sql = format!(
                    "DELETE FROM attempts WHERE message_id IN ({})",
                    id_list(&ids)
                );
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            deleted += ids.len() as u64;
            if ids.len() < usize::from(RETENTION_BATCH) {
                return Ok(deleted);
            }
        }
    }

    fn enqueued(&self) -> Arc<Notify> {
        Arc::clone(&self.enqueued)
    }

    async fn redeliver(&self, company_id: i64, message_id: i64, now_ms: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at_ms = $1, \
                 lease_until_ms = NULL, finished_at_ms = NULL, last_error = NULL \
             WHERE id = $2 AND company_id = $3 \
               AND (status != 'pending' OR lease_until_ms IS NULL)",
        )
        .bind(now_ms)
        .bind(message_id)
        .bind(company_id)
        .execute(&self.writer)
        .await?;
        self.enqueued.notify_one();
        Ok(DB::rows_affected(&result) > 0)
    }
}

#[cfg(test)]
mod tests {
    use tripletex_webhooks_types::emulator::Exchange;
    use tripletex_webhooks_types::{EventType, NewSubscription};

    use super::*;
    use crate::config::Durability;
    use crate::store::{SqliteStore, Store, WriteContext};

    const NOW: i64 = 1_700_000_000_000;

    async fn claim(store: &SqliteStore, now_ms: i64, lease_ms: i64) -> Vec<ClaimedMessage> {
        store
            .claim_due(Claim {
                now_ms,
                lease_ms,
                candidates: 10,
                skip_subscriptions: &[],
                accept: &mut |_| true,
            })
            .await
            .unwrap()
    }

    fn delivered(message: &ClaimedMessage) -> AttemptOutcome {
        AttemptOutcome {
            message_id: message.id,
            subscription_id: message.subscription_id,
            lease_until_ms: message.lease_until_ms,
            attempted_at_ms: NOW,
            duration_ms: 5,
            status_code: Some(200),
            error: None,
            exchange: Exchange::default(),
            body_rendered: true,
            next: NextStep::Delivered,
        }
    }

    #[tokio::test]
    async fn an_expired_lease_is_claimed_again_and_the_stale_outcome_is_fenced_off() {
        let store = SqliteStore::connect("sqlite::memory:", Durability::Process, "test/v2")
            .await
            .unwrap();
        let company = store.ensure_company("digest").await.unwrap();
        let event: EventType = "product.create".parse().unwrap();
        let subscription = NewSubscription::new(event.clone(), "https://example.com/hook");
        store
            .insert_subscriptions(company, NOW, vec![subscription])
            .await
            .unwrap();
        let ctx = WriteContext {
            company,
            now_ms: NOW,
            request_id: Some("request-1"),
        };
        let emits = std::slice::from_ref(&event);
        store
            .emit_event(
                ctx,
                emits,
                1,
                Some(&serde_json::json!({"id": 1, "version": 3})),
            )
            .await
            .unwrap();
        let policy = HealthPolicy {
            disable_after_ms: i64::MAX,
        };

        // A lease that lapses at once (its holder, say, hung past it) ...
        let first = claim(&store, NOW, -1).await.remove(0);
        // ... lets the message be claimed again under a new lease.
        let second = claim(&store, NOW, 60_000).await.remove(0);
        assert_eq!(first.id, second.id);
        assert_eq!(
            (second.object_version, second.request_id.as_deref()),
            (Some(3), Some("request-1")),
            "the message carries the object's version and the request that caused it"
        );
        assert_ne!(first.lease_until_ms, second.lease_until_ms);
        // A live lease holds however far the server clock has moved: leases
        // run on real time.
        let an_hour_later = NOW + 3_600_000;
        assert!(claim(&store, an_hour_later, 60_000).await.is_empty());

        store.record(&[delivered(&first)], policy).await.unwrap();
        let log = store
            .deliveries(company.id, &DeliveryFilter::default(), 0, 10)
            .await
            .unwrap()
            .values;
        assert_eq!(
            (log[0].status.as_str(), log[0].attempts),
            ("pending", 0),
            "fenced off"
        );
        store.record(&[delivered(&second)], policy).await.unwrap();
        let log = store
            .deliveries(company.id, &DeliveryFilter::default(), 0, 10)
            .await
            .unwrap()
            .values;
        assert_eq!((log[0].status.as_str(), log[0].attempts), ("delivered", 1));
        assert_eq!(
            log[0].attempt_log.len(),
            2,
            "both attempts were made and are logged"
        );
    }
}
