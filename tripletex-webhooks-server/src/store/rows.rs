//! Decoding rows into records, for every engine, and the JSON and
//! change-log helpers around them.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tripletex_webhooks_types::{
    Change, ChangeType, EventType, SubscriptionStatus, SubscriptionUpdate,
};

use super::outbox::{AttemptRecord, ClaimedMessage, DeliveryRecord, Exchange};
use super::{ObjectRecord, StoreError, StoreResult, SubscriptionRecord};

/// The subscription columns [`subscription_from_row`] reads.
pub(super) const SUBSCRIPTION_COLUMNS: &str = "id, version, event, target_url, fields, status, \
     auth_header_name, auth_header_value, hmac_shared_secret, changes, failing_since_ms";

/// The object columns [`object_from_row`] reads.
pub(super) const OBJECT_COLUMNS: &str = "id, resource, version, body, changes";

/// Typed reads of a row's columns by name. Every sqlx row whose engine
/// decodes the store's column types has them, so the decoders below need no
/// engine-specific code.
pub(crate) trait Columns {
    /// A `BIGINT` column.
    fn int(&self, name: &str) -> StoreResult<i64>;
    /// A nullable `BIGINT` column.
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
    /// An `INTEGER` column.
    fn int32(&self, name: &str) -> StoreResult<i32>;
    /// A nullable `INTEGER` column.
    fn opt_int32(&self, name: &str) -> StoreResult<Option<i32>>;
    /// A `TEXT` column.
    fn text(&self, name: &str) -> StoreResult<&str>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, name: &str) -> StoreResult<Option<&str>>;
}

impl<R: Row> Columns for R
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, name: &str) -> StoreResult<i64> {
        Ok(self.try_get(name)?)
    }

    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(name)?)
    }

    fn int32(&self, name: &str) -> StoreResult<i32> {
        Ok(self.try_get(name)?)
    }

    fn opt_int32(&self, name: &str) -> StoreResult<Option<i32>> {
        Ok(self.try_get(name)?)
    }

    fn text(&self, name: &str) -> StoreResult<&str> {
        Ok(self.try_get(name)?)
    }

    fn opt_text(&self, name: &str) -> StoreResult<Option<&str>> {
        Ok(self.try_get(name)?)
    }
}

/// `YYYY-MM-DDThh:mm:ss`, Tripletex's DateTime format, in UTC.
pub(super) fn timestamp(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// One entry of a change log.
pub(super) fn change(employee_id: i64, now_ms: i64, change_type: ChangeType) -> Change {
    Change {
        employee_id: Some(employee_id),
        timestamp: Some(timestamp(now_ms)),
        change_type: Some(change_type),
    }
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("decoding stored JSON: {e}")))
}

pub(super) fn expose(secret: Option<&SecretString>) -> Option<&str> {
    secret.map(ExposeSecret::expose_secret)
}

/// Applies a partial update; an empty string clears an optional field.
pub(super) fn apply_update(record: &mut SubscriptionRecord, update: SubscriptionUpdate) {
    if let Some(event) = update.event {
        record.event = event;
    }
    if let Some(target_url) = update.target_url {
        record.target_url = target_url;
    }
    if let Some(fields) = update.fields {
        record.fields = Some(fields).filter(|f| !f.is_empty());
    }
    if let Some(status) = update.status {
        record.status = status;
    }
    if let Some(name) = update.auth_header_name {
        record.auth_header_name = Some(name).filter(|n| !n.is_empty());
    }
    if let Some(value) = update.auth_header_value {
        record.auth_header_value = Some(value).filter(|v| !v.expose_secret().is_empty());
    }
    if let Some(secret) = update.hmac_shared_secret {
        record.hmac_shared_secret = Some(secret).filter(|s| !s.expose_secret().is_empty());
    }
}

fn event(row: &impl Columns) -> StoreResult<EventType> {
    row.text("event")?
        .parse()
        .map_err(|e| StoreError::Backend(format!("stored event: {e}")))
}

fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_owned)
}

fn secret(row: &impl Columns, name: &str) -> StoreResult<Option<SecretString>> {
    Ok(row.opt_text(name)?.map(SecretString::from))
}

/// Decodes a row selected with [`SUBSCRIPTION_COLUMNS`].
pub(super) fn subscription_from_row(row: &impl Columns) -> StoreResult<SubscriptionRecord> {
    let status = row.text("status")?;
    Ok(SubscriptionRecord {
        id: row.int("id")?,
        version: row.int32("version")?,
        event: event(row)?,
        target_url: row.text("target_url")?.to_owned(),
        fields: owned(row.opt_text("fields")?),
        status: status
            .parse()
            .unwrap_or_else(|_| SubscriptionStatus::Unknown(status.to_owned())),
        auth_header_name: owned(row.opt_text("auth_header_name")?),
        auth_header_value: secret(row, "auth_header_value")?,
        hmac_shared_secret: secret(row, "hmac_shared_secret")?,
        changes: from_json(row.text("changes")?)?,
        failing_since_ms: row.opt_int("failing_since_ms")?,
    })
}

/// Decodes a row selected with [`OBJECT_COLUMNS`].
pub(super) fn object_from_row(row: &impl Columns) -> StoreResult<ObjectRecord> {
    Ok(ObjectRecord {
        id: row.int("id")?,
        resource: row.text("resource")?.to_owned(),
        version: row.int32("version")?,
        body: from_json(row.text("body")?)?,
        changes: from_json(row.text("changes")?)?,
    })
}

/// Decodes a claimed message joined with its subscription.
pub(super) fn claimed_from_row(row: &impl Columns) -> StoreResult<ClaimedMessage> {
    Ok(ClaimedMessage {
        id: row.int("id")?,
        company_id: row.int("company_id")?,
        subscription_id: row.int("subscription_id")?,
        event: event(row)?,
        object_id: row.int("object_id")?,
        object_version: row.opt_int32("object_version")?,
        request_id: owned(row.opt_text("request_id")?),
        payload: owned(row.opt_text("payload")?),
        idempotency_key: row.text("idempotency_key")?.to_owned(),
        attempts: row.int32("attempts")?,
        lease_until_ms: row.int("lease_until_ms")?,
        target_url: row.text("target_url")?.to_owned(),
        fields: owned(row.opt_text("fields")?),
        auth_header_name: owned(row.opt_text("auth_header_name")?),
        auth_header_value: secret(row, "auth_header_value")?,
        hmac_shared_secret: secret(row, "hmac_shared_secret")?,
    })
}

/// The message columns [`delivery_from_row`] reads.
pub(super) const DELIVERY_COLUMNS: &str = "id, subscription_id, event, object_id, object_version, \
     idempotency_key, request_id, status, attempts, next_attempt_at_ms, created_at_ms, \
     finished_at_ms, last_error";

/// Decodes a message of the delivery log (its attempts come separately).
pub(super) fn delivery_from_row(row: &impl Columns) -> StoreResult<DeliveryRecord> {
    let status = row.text("status")?.to_owned();
    Ok(DeliveryRecord {
        id: row.int("id")?,
        subscription_id: row.int("subscription_id")?,
        event: row.text("event")?.to_owned(),
        object_id: row.int("object_id")?,
        object_version: row.opt_int32("object_version")?,
        idempotency_key: row.text("idempotency_key")?.to_owned(),
        request_id: owned(row.opt_text("request_id")?),
        next_attempt_at_ms: if status == "pending" {
            Some(row.int("next_attempt_at_ms")?)
        } else {
            None
        },
        status,
        attempts: row.int32("attempts")?,
        created_at_ms: row.int("created_at_ms")?,
        finished_at_ms: row.opt_int("finished_at_ms")?,
        last_error: owned(row.opt_text("last_error")?),
        attempt_log: Vec::new(),
    })
}

/// Decodes one attempt of the delivery log; with its exchange where the row
/// has the `request` and `response` columns.
pub(super) fn attempt_from_row(row: &impl Columns, exchange: bool) -> StoreResult<AttemptRecord> {
    let exchange = if exchange {
        Some(Exchange {
            request: row.opt_text("request")?.map(from_json).transpose()?,
            response: row.opt_text("response")?.map(from_json).transpose()?,
        })
    } else {
        None
    };
    Ok(AttemptRecord {
        attempted_at_ms: row.int("attempted_at_ms")?,
        duration_ms: row.int("duration_ms")?,
        status_code: row
            .opt_int32("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        error: owned(row.opt_text("error")?),
        exchange,
    })
}
