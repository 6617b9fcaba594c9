//! What both SQL stores share: decoding rows into records, and the JSON and
//! change-log helpers around them.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tripletex_webhooks_types::{Change, ChangeType, SubscriptionStatus, SubscriptionUpdate};

use super::{ObjectRecord, StoreError, StoreResult, SubscriptionRecord};

/// The subscription columns, in the order both stores select them.
pub(super) const SUBSCRIPTION_COLUMNS: &str = "id, version, event, target_url, fields, status, \
     auth_header_name, auth_header_value, hmac_shared_secret, changes";

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

/// Decodes a row selected with [`SUBSCRIPTION_COLUMNS`].
pub(super) fn subscription_from_row<R>(row: &R) -> StoreResult<SubscriptionRecord>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let event: String = row.try_get("event")?;
    let status: String = row.try_get("status")?;
    let changes: String = row.try_get("changes")?;
    Ok(SubscriptionRecord {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        event: event
            .parse()
            .map_err(|e| StoreError::Backend(format!("stored event: {e}")))?,
        target_url: row.try_get("target_url")?,
        fields: row.try_get("fields")?,
        status: status
            .parse()
            .unwrap_or(SubscriptionStatus::Unknown(status)),
        auth_header_name: row.try_get("auth_header_name")?,
        auth_header_value: row
            .try_get::<Option<String>, _>("auth_header_value")?
            .map(SecretString::from),
        hmac_shared_secret: row
            .try_get::<Option<String>, _>("hmac_shared_secret")?
            .map(SecretString::from),
        changes: from_json(&changes)?,
    })
}

/// Decodes a row with `id, resource, version, body, changes`.
pub(super) fn object_from_row<R>(row: &R) -> StoreResult<ObjectRecord>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let body: String = row.try_get("body")?;
    let changes: String = row.try_get("changes")?;
    Ok(ObjectRecord {
        id: row.try_get("id")?,
        resource: row.try_get("resource")?,
        version: row.try_get("version")?,
        body: from_json(&body)?,
        changes: from_json(&changes)?,
    })
}
