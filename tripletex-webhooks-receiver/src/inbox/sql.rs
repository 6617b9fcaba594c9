//! The inbox's SQL: one set of statements for SQLite and PostgreSQL (both
//! take `$N` parameters, `BIGINT` and `TEXT`; times are milliseconds since
//! the epoch from the inbox's clock), and the pool they run on.
//!
//! The dialects differ in two places only: the `id` column's type and the
//! row locks of a claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has
//! one writer at a time, so its claim statement needs none).

/// The table's name.
pub(crate) const TABLE: &str = "tripletex_webhook_inbox";

/// The table, with `{id}` the dialect's auto-incrementing key.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS tripletex_webhook_inbox (
    id {id},
    object_key TEXT NOT NULL,
    version BIGINT,
    deleted BIGINT NOT NULL,
    order_version BIGINT NOT NULL,
    idempotency_key TEXT UNIQUE,
    subscription_id BIGINT,
    event TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    claim_token TEXT,
    claimed_until_ms BIGINT,
    finished_ms BIGINT,
    forced BIGINT NOT NULL,
    last_error TEXT
)";

/// What a claim checks per candidate: its object's other pending events, in order.
const OBJECT_INDEX: &str = "CREATE INDEX IF NOT EXISTS tripletex_webhook_inbox_pending
    ON tripletex_webhook_inbox (state, object_key, order_version, id)";

/// What a claim walks: pending events by arrival, so that it stops at its
/// limit however long the backlog.
const ARRIVAL_INDEX: &str = "CREATE INDEX IF NOT EXISTS tripletex_webhook_inbox_arrival
    ON tripletex_webhook_inbox (state, id)";

/// The statements creating the schema for a dialect's `id` column.
pub(crate) fn schema(id: &str) -> [String; 3] {
    [
        CREATE.replace("{id}", id),
        OBJECT_INDEX.to_owned(),
        ARRIVAL_INDEX.to_owned(),
    ]
}

#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_ID: &str = "INTEGER PRIMARY KEY AUTOINCREMENT";
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_ID: &str = "BIGSERIAL PRIMARY KEY";

/// A delivery Tripletex sent again (same `idempotency-key`) is stored once.
pub(crate) const INSERT: &str = "INSERT INTO tripletex_webhook_inbox (object_key, version,
        deleted, order_version, idempotency_key, subscription_id, event, path, body,
        received_ms, state, attempts, next_attempt_ms, forced)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $10, 0)
    ON CONFLICT (idempotency_key) DO NOTHING";

/// Claims up to $4 events for the token $1 until $2, at $3: per object only
/// the first pending one (lowest `order_version`, then `id`), and only while
/// no other event of that object is claimed. Counts the attempt at once, so
/// that a handler crashing its process still reaches the dead letters.
/// `{lock}` is the dialect's row locking.
const CLAIM: &str = "UPDATE tripletex_webhook_inbox
    SET claim_token = $1, claimed_until_ms = $2, attempts = attempts + 1
    WHERE id IN (
        SELECT e.id FROM tripletex_webhook_inbox AS e
        WHERE e.state = 'pending' AND e.next_attempt_ms <= $3
            AND (e.claimed_until_ms IS NULL OR e.claimed_until_ms <= $3)
            AND NOT EXISTS (
                SELECT 1 FROM tripletex_webhook_inbox AS o
                WHERE o.state = 'pending' AND o.object_key = e.object_key AND o.id <> e.id
                    AND (o.claimed_until_ms > $3
                        OR o.order_version < e.order_version
                        OR (o.order_version = e.order_version AND o.id < e.id)))
        ORDER BY e.id
        LIMIT $4 {lock})
    RETURNING id, object_key, idempotency_key, path, body,
        received_ms, attempts, forced";

pub(crate) fn claim(lock: &str) -> String {
    CLAIM.replace("{lock}", lock)
}

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_LOCK: &str = "FOR UPDATE SKIP LOCKED";

/// Extends the claim of $2 on $1 to $3, while its handler runs.
pub(crate) const RENEW: &str = "UPDATE tripletex_webhook_inbox
    SET claimed_until_ms = $3 WHERE id = $1 AND claim_token = $2";

/// Ends the claim of $2 on $1 with the state $3 at $4 (and the error $5).
pub(crate) const FINISH: &str = "UPDATE tripletex_webhook_inbox
    SET state = $3, finished_ms = $4, last_error = $5, claim_token = NULL, claimed_until_ms = NULL
    WHERE id = $1 AND claim_token = $2";

/// Ends the claim of $2 on $1 and schedules the next attempt at $3 (the
/// failure $4). `$5` is 1 when the claim did not count as an attempt.
pub(crate) const RETRY: &str = "UPDATE tripletex_webhook_inbox
    SET next_attempt_ms = $3, last_error = $4, attempts = attempts - $5,
        claim_token = NULL, claimed_until_ms = NULL
    WHERE id = $1 AND claim_token = $2";

/// How many events are pending and when the oldest was received.
pub(crate) const DEPTH: &str = "SELECT COUNT(*) AS depth, MIN(received_ms) AS oldest
    FROM tripletex_webhook_inbox WHERE state = 'pending'";

/// When the next pending event is due (claimed or not).
pub(crate) const NEXT_DUE: &str = "SELECT MIN(CASE WHEN claimed_until_ms IS NULL
        OR claimed_until_ms < next_attempt_ms THEN next_attempt_ms ELSE claimed_until_ms END) AS due
    FROM tripletex_webhook_inbox WHERE state = 'pending'";

/// The filter of `list` and `replay`: states (`$1`, a comma-separated list),
/// ids from $2 to $3, received from $4 to $5, subscription $6 (NULL: any).
const FILTER: &str = "(',' || $1 || ',') LIKE ('%,' || state || ',%')
    AND id >= $2 AND id <= $3 AND received_ms >= $4 AND received_ms <= $5
    AND ($6 IS NULL OR subscription_id = $6)";

pub(crate) fn list() -> String {
    format!(
        "SELECT id, object_key, version, deleted, idempotency_key, subscription_id, event, path,
            received_ms, state, attempts, next_attempt_ms, claimed_until_ms, finished_ms, last_error
        FROM tripletex_webhook_inbox WHERE {FILTER} ORDER BY id LIMIT $7"
    )
}

/// Puts the matching events back to pending at $7 with no attempts; those
/// that were handled or found redundant are `forced` through the handler.
pub(crate) fn replay() -> String {
    format!(
        "UPDATE tripletex_webhook_inbox
        SET forced = CASE WHEN state = 'dead' THEN forced ELSE 1 END,
            state = 'pending', attempts = 0, next_attempt_ms = $7, last_error = NULL,
            finished_ms = NULL, claim_token = NULL, claimed_until_ms = NULL
        WHERE {FILTER}"
    )
}

/// Deletes events finished (handled, redundant) before $1.
pub(crate) const PURGE: &str = "DELETE FROM tripletex_webhook_inbox
    WHERE state IN ('done', 'skipped') AND finished_ms < $1";
