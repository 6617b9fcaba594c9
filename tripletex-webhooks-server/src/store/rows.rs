//! Decoding rows into records, for every engine, and the JSON and
//! change-log helpers around them.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tripletex_webhooks_types::emulator::{
    AttemptRecord, DeliveryRecord, Exchange, RequestRecord, ResponseRecord,
};
use tripletex_webhooks_types::{
    Change, ChangeType, EventType, SubscriptionStatus, SubscriptionUpdate,
};

use super::bodies::{ATTEMPTS, Dictionaries, Packed};
use super::outbox::ClaimedMessage;
use super::{ObjectRecord, StoreError, StoreResult, SubscriptionRecord};
use crate::domain::object::render;

/// The subscription columns [`subscription_from_row`] reads.
pub(super) const SUBSCRIPTION_COLUMNS: &str = "id, version, event, target_url, fields, status, \
     auth_header_name, auth_header_value, hmac_shared_secret, changes, failing_since_ms";

/// The object columns [`object_from_row`] reads.
pub(super) const OBJECT_COLUMNS: &str =
    "id, resource, version, body, body_deflated, body_dictionary, changes";

/// Reads of a row's columns by name, as the types the store's columns
/// decode to (`Option` where a column may be `NULL`). Every sqlx row whose
/// engine decodes those types has them, so the decoders below need no
/// engine-specific code.
pub(crate) trait Columns:
    Column<i64>
    + Column<Option<i64>>
    + Column<i32>
    + Column<Option<i32>>
    + Column<String>
    + Column<Option<String>>
    + Column<Vec<u8>>
    + Column<Option<Vec<u8>>>
{
    /// A `TEXT` column, borrowed from the row.
    fn text(&self, name: &str) -> StoreResult<&str>;
}

/// Reads of one type of column.
pub(crate) trait Column<T> {
    /// The column `name` as a `T`.
    fn read(&self, name: &str) -> StoreResult<T>;
}

impl<R: Row, T> Column<T> for R
where
    for<'a> &'a str: ColumnIndex<R>,
    T: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn read(&self, name: &str) -> StoreResult<T> {
        Ok(self.try_get(name)?)
    }
}

impl<R: Row> Columns for R
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, name: &str) -> StoreResult<&str> {
        Ok(self.try_get(name)?)
    }
}

/// One entry of a change log, stamped `YYYY-MM-DDThh:mm:ss` (Tripletex's
/// DateTime format, in UTC).
pub(super) fn change(employee_id: i64, now_ms: i64, change_type: ChangeType) -> Change {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let timestamp = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok());
    Change {
        employee_id: Some(employee_id),
        timestamp: Some(timestamp.unwrap_or_default()),
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

/// The columns a row keeps an object's body and change log in.
struct ObjectColumns {
    /// The body's JSON text (objects written before bodies were deflated).
    text: &'static str,
    /// The deflated JSON.
    deflated: &'static str,
    /// The dictionary it was deflated with.
    dictionary: &'static str,
    /// The change log's JSON; empty where the deflated JSON holds it.
    changes: &'static str,
}

/// The columns of [`OBJECT_COLUMNS`].
const OBJECT: ObjectColumns = ObjectColumns {
    text: "body",
    deflated: "body_deflated",
    dictionary: "body_dictionary",
    changes: "changes",
};

/// The object columns of [`PAYLOAD_COLUMNS`].
const PAYLOAD_OBJECT: ObjectColumns = ObjectColumns {
    text: "object_body",
    deflated: "object_body_deflated",
    dictionary: "object_body_dictionary",
    changes: "object_changes",
};

/// An object's body and change log from its `columns`: both in the
/// deflated JSON (`[body, changes]`) where the `changes` column is empty;
/// else (objects written before) the change log in that column and the
/// body deflated alone, or as text where nothing is deflated. `id` names
/// the object in errors.
fn stored_object(
    row: &impl Columns,
    columns: &ObjectColumns,
    dictionaries: &Dictionaries,
    id: i64,
) -> StoreResult<(Map<String, Value>, Vec<Change>)> {
    let changes = row.text(columns.changes)?;
    let deflated: Option<Vec<u8>> = row.read(columns.deflated)?;
    let Some(deflated) = deflated else {
        return Ok((from_json(row.text(columns.text)?)?, from_json(changes)?));
    };
    let dictionary: Option<i64> = row.read(columns.dictionary)?;
    let unreadable = |reason| StoreError::Unreadable {
        what: "object",
        id,
        reason,
    };
    if changes.is_empty() {
        return dictionaries
            .unpack(&deflated, dictionary)
            .map_err(unreadable);
    }
    let body = dictionaries
        .unpack(&deflated, dictionary)
        .map_err(unreadable)?;
    Ok((body, from_json(changes)?))
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

/// A nullable JSON column, decoded.
fn opt_json<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    name: &str,
) -> StoreResult<Option<T>> {
    let text: Option<String> = row.read(name)?;
    text.as_deref().map(from_json).transpose()
}

fn secret(row: &impl Columns, name: &str) -> StoreResult<Option<SecretString>> {
    let secret: Option<String> = row.read(name)?;
    Ok(secret.map(SecretString::from))
}

/// Decodes a row selected with [`SUBSCRIPTION_COLUMNS`].
pub(super) fn subscription_from_row(row: &impl Columns) -> StoreResult<SubscriptionRecord> {
    let status = row.text("status")?;
    Ok(SubscriptionRecord {
        id: row.read("id")?,
        version: row.read("version")?,
        event: event(row)?,
        target_url: row.read("target_url")?,
        fields: row.read("fields")?,
        status: status
            .parse()
            .unwrap_or_else(|_| SubscriptionStatus::Unknown(status.to_owned())),
        auth_header_name: row.read("auth_header_name")?,
        auth_header_value: secret(row, "auth_header_value")?,
        hmac_shared_secret: secret(row, "hmac_shared_secret")?,
        changes: from_json(row.text("changes")?)?,
        failing_since_ms: row.read("failing_since_ms")?,
    })
}

/// Decodes a row selected with [`OBJECT_COLUMNS`].
pub(super) fn object_from_row(
    row: &impl Columns,
    dictionaries: &Dictionaries,
) -> StoreResult<ObjectRecord> {
    let id = row.read("id")?;
    let (body, changes) = stored_object(row, &OBJECT, dictionaries, id)?;
    Ok(ObjectRecord {
        id,
        resource: row.read("resource")?,
        version: row.read("version")?,
        body,
        changes,
    })
}

/// A message's payload columns ([`PAYLOAD_COLUMNS`]), read from a message
/// `m` joined with [`PAYLOAD_JOIN`].
pub(super) const PAYLOAD_COLUMNS: &str = "m.payload, m.payload_in_object, \
     o.resource AS object_resource, o.version AS object_stored_version, \
     o.body AS object_body, o.body_deflated AS object_body_deflated, \
     o.body_dictionary AS object_body_dictionary, o.changes AS object_changes";

/// The object a message `m` takes its payload from, where it takes it from one.
pub(super) const PAYLOAD_JOIN: &str =
    "LEFT JOIN objects o ON m.payload_in_object = 1 AND o.id = m.object_id";

/// A message's payload as stored: its own copy, or its object's stored body.
#[derive(Debug)]
pub(super) enum StoredPayload {
    /// The payload's JSON text; `None` for deletes.
    Copied(Option<String>),
    /// The object at the message's version, to be rendered.
    InObject(ObjectRecord),
}

impl StoredPayload {
    /// The payload, rendering an object as `GET` shows it; `None` for deletes.
    pub(super) fn into_value(self, url_base: &str) -> StoreResult<Option<Value>> {
        match self {
            Self::Copied(text) => text.as_deref().map(from_json).transpose(),
            Self::InObject(record) => Ok(Some(render(&record, url_base))),
        }
    }
}

/// Decodes [`PAYLOAD_COLUMNS`] with the message's `object_id` and
/// `object_version`. A write copies an object's body into the messages at its
/// version before replacing it, so the stored object is always at that version.
pub(super) fn payload_from_row(
    row: &impl Columns,
    dictionaries: &Dictionaries,
) -> StoreResult<StoredPayload> {
    let in_object: i32 = row.read("payload_in_object")?;
    if in_object == 0 {
        return Ok(StoredPayload::Copied(row.read("payload")?));
    }
    let id: i64 = row.read("object_id")?;
    let version: Option<i32> = row.read("object_version")?;
    let stored: Option<i32> = row.read("object_stored_version")?;
    let (Some(version), true) = (version, stored == version) else {
        return Err(StoreError::Backend(format!(
            "the payload of a message about object {id} at version {version:?} is gone \
             (the object is at {stored:?})"
        )));
    };
    let (body, changes) = stored_object(row, &PAYLOAD_OBJECT, dictionaries, id)?;
    Ok(StoredPayload::InObject(ObjectRecord {
        id,
        resource: row.read("object_resource")?,
        version,
        body,
        changes,
    }))
}

/// Decodes a claimed message joined with its subscription and its payload's
/// object; the payload comes separately, to be rendered outside the claim.
pub(super) fn claimed_from_row(
    row: &impl Columns,
    dictionaries: &Dictionaries,
) -> StoreResult<(ClaimedMessage, StoreResult<StoredPayload>)> {
    let message = ClaimedMessage {
        id: row.read("id")?,
        company_id: row.read("company_id")?,
        subscription_id: row.read("subscription_id")?,
        event: event(row)?,
        object_id: row.read("object_id")?,
        object_version: row.read("object_version")?,
        request_id: row.read("request_id")?,
        payload: Ok(None),
        idempotency_key: row.read("idempotency_key")?,
        attempts: row.read("attempts")?,
        lease_until_ms: row.read("lease_until_ms")?,
        target_url: row.read("target_url")?,
        fields: row.read("fields")?,
        auth_header_name: row.read("auth_header_name")?,
        auth_header_value: secret(row, "auth_header_value")?,
        hmac_shared_secret: secret(row, "hmac_shared_secret")?,
    };
    Ok((message, payload_from_row(row, dictionaries)))
}

/// The message columns [`delivery_from_row`] reads; when the next attempt is
/// due only for pending messages.
pub(super) const DELIVERY_COLUMNS: &str = "id, subscription_id, event, object_id, object_version, \
     idempotency_key, request_id, status, attempts, \
     CASE WHEN status = 'pending' THEN next_attempt_at_ms END AS next_attempt_at_ms, \
     created_at_ms, finished_at_ms, last_error";

/// Decodes a message of the delivery log (its attempts come separately).
pub(super) fn delivery_from_row(row: &impl Columns) -> StoreResult<DeliveryRecord> {
    let attempts: i32 = row.read("attempts")?;
    let Ok(status) = row.text("status")?.parse();
    Ok(DeliveryRecord {
        id: row.read("id")?,
        subscription_id: row.read("subscription_id")?,
        event: row.read("event")?,
        object_id: row.read("object_id")?,
        object_version: row.read("object_version")?,
        idempotency_key: row.read("idempotency_key")?,
        request_id: row.read("request_id")?,
        status,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at_ms: row.read("next_attempt_at_ms")?,
        created_at_ms: row.read("created_at_ms")?,
        finished_at_ms: row.read("finished_at_ms")?,
        last_error: row.read("last_error")?,
        attempt_log: Vec::new(),
    })
}

/// An attempt's request as stored: without its body where that is the
/// message's envelope, which [`stored_request`] left out to be rendered again.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRequest {
    #[serde(flatten)]
    record: RequestRecord,
    /// The body was left out: it is the message's envelope, whole.
    #[serde(default)]
    body_rendered: bool,
}

/// An attempt's request as stored: without the body where `rendered` says
/// it is the message's envelope with the whole payload and nothing of it
/// was cut (the delivery log renders it again on read).
fn stored_request(request: &RequestRecord, rendered: bool) -> StoreResult<Value> {
    let mut value = serde_json::to_value(request)
        .map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))?;
    if rendered && !request.message.body_truncated {
        if let Some(fields) = value.as_object_mut() {
            fields.remove("body");
            fields.insert("bodyRendered".to_owned(), true.into());
        }
    }
    Ok(value)
}

/// An attempt's exchange as stored: `[request, response]` as JSON, deflated
/// with the attempts' dictionary (see [`stored_request`] for `rendered`);
/// `None` where it has neither.
pub(super) fn packed_exchange(
    dictionaries: &Dictionaries,
    exchange: &Exchange,
    rendered: bool,
) -> StoreResult<Option<Packed>> {
    if exchange.request.is_none() && exchange.response.is_none() {
        return Ok(None);
    }
    let request = exchange
        .request
        .as_ref()
        .map(|request| stored_request(request, rendered))
        .transpose()?;
    let exchange = (request, &exchange.response);
    dictionaries.pack(ATTEMPTS, &exchange).map(Some)
}

/// An attempt's request and response from its row: deflated together where
/// `exchange_deflated` is set, else (attempts written before) as the JSON
/// of the `request` and `response` columns.
fn stored_exchange(
    row: &impl Columns,
    dictionaries: &Dictionaries,
) -> StoreResult<(Option<StoredRequest>, Option<ResponseRecord>)> {
    let deflated: Option<Vec<u8>> = row.read("exchange_deflated")?;
    let Some(deflated) = deflated else {
        return Ok((opt_json(row, "request")?, opt_json(row, "response")?));
    };
    let (id, dictionary) = (row.read("id")?, row.read("exchange_dictionary")?);
    dictionaries
        .unpack(&deflated, dictionary)
        .map_err(|reason| StoreError::Unreadable {
            what: "attempt",
            id,
            reason,
        })
}

/// The attempt columns [`attempt_from_row`] reads with an exchange, besides
/// those it always reads.
pub(super) const EXCHANGE_COLUMNS: &str =
    "id, request, response, exchange_deflated, exchange_dictionary";

/// Decodes one attempt of the delivery log; with its exchange where the row
/// has the [`EXCHANGE_COLUMNS`]. Also says whether the request's body was
/// left out, to be rendered from the message.
pub(super) fn attempt_from_row(
    row: &impl Columns,
    exchange: bool,
    dictionaries: &Dictionaries,
) -> StoreResult<(AttemptRecord, bool)> {
    let (exchange, body_rendered) = if exchange {
        let (request, response) = stored_exchange(row, dictionaries)?;
        let body_rendered = request.as_ref().is_some_and(|r| r.body_rendered);
        let exchange = Exchange {
            request: request.map(|r| r.record),
            response,
        };
        (Some(exchange), body_rendered)
    } else {
        (None, false)
    };
    let status_code: Option<i32> = row.read("status_code")?;
    let attempt = AttemptRecord {
        attempted_at_ms: row.read("attempted_at_ms")?,
        duration_ms: row.read("duration_ms")?,
        status_code: status_code.and_then(|c| u16::try_from(c).ok()),
        error: row.read("error")?,
        exchange,
    };
    Ok((attempt, body_rendered))
}
