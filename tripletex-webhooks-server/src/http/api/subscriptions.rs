//! `/event/subscription`: create, read, update and delete webhook
//! subscriptions, one at a time or in bulk (`/event/subscription/list`).
//!
//! Subscriptions belong to the caller's company; another company's ids answer
//! 404 and never appear in its lists. `authHeaderValue` and
//! `hmacSharedSecret` are write-only: they are stored (delivery needs them)
//! but never rendered, logged or echoed in error messages. `targetUrl` is
//! never logged either, since it may carry credentials.
//!
//! Bodies are read as JSON values first, so a malformed `event` is a
//! validation error (422, code 18000) on the field `event` rather than a
//! mapping error; other wrong types are mapping errors (422, code 16000).
//! In bodies, an empty string for `fields`, `authHeaderName`,
//! `authHeaderValue` or `hmacSharedSecret` means "none" (on PUT: remove it).

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::IF_NONE_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{
    ApiValidationMessage, EventType, ListResponse, NewSubscription, Subscription,
    SubscriptionStatus, SubscriptionUpdate, ValueResponse, known_event_types,
};

use crate::delivery::sendable::{self, header_name_problem, header_value_problem};
use crate::domain::object::object_url;
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::store::{StoreError, SubscriptionRecord};

/// The resource path of subscriptions, as in their `url`.
const RESOURCE: &str = "event/subscription";

const MAX_EVENT: usize = 255;
const MAX_TARGET_URL: usize = 65_535;
const MAX_FIELDS: usize = 255;
const MAX_AUTH_HEADER_NAME: usize = 255;
const MAX_AUTH_HEADER_VALUE: usize = 4096;
const MIN_HMAC_SECRET: usize = 10;
const MAX_HMAC_SECRET: usize = 100;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/event/subscription", get(search).post(create))
        .route(
            "/v2/event/subscription/list",
            post(create_list).put(update_list).delete(delete_list),
        )
        .route(
            "/v2/event/subscription/{id}",
            get(get_one).put(update_one).delete(delete_one),
        )
}

/// Whether the event catalogue lists `event` (only catalogued events can be subscribed to).
fn is_catalogued(event: &EventType) -> bool {
    known_event_types().contains(event)
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

#[tracing::instrument(name = "subscription.search", skip_all, fields(company_id = caller.company().id))]
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let (from, count) = query.paging()?;
    let sorting = parse_sorting(query.get("sorting").unwrap_or_default())?;
    let filter = query.fields()?;
    let mut records = state.store.list_subscriptions(caller.company().id).await?;
    records.sort_by(|a, b| compare(a, b, &sorting));
    let if_none_match = if_none_match(&headers);
    let digest = if_none_match.as_ref().and(version_digest(&records));
    if digest.is_some() && digest == if_none_match {
        tracing::debug!("subscription list not modified");
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let total = i64::try_from(records.len()).unwrap_or(i64::MAX);
    let page = page_of(&records, from, count);
    let values = render_all(page, &state.url_base, &filter)?;
    let mut list = ListResponse::page(values, from, total);
    list.version_digest = digest;
    tracing::debug!(total, count = list.count, "subscriptions listed");
    Ok(Json(list).into_response())
}

/// `POST /event/subscription` (also the dashboard's create form).
#[tracing::instrument(name = "subscription.create", skip_all, fields(company_id = caller.company().id))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ServerError> {
    let filter = query.fields()?;
    let new = into_new(parse_input(body, At::Body)?, At::Body).map_err(ServerError::Validation)?;
    let created = store_insert(&state, &caller, vec![new]).await?;
    let record = created
        .first()
        .ok_or_else(|| missing("created subscription"))?;
    let value = render(record, &state.url_base, &filter)?;
    Ok((StatusCode::CREATED, Json(ValueResponse::new(value))).into_response())
}

#[tracing::instrument(name = "subscription.create_list", skip_all, fields(company_id = caller.company().id))]
async fn create_list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ServerError> {
    let filter = query.fields()?;
    let inputs = parse_list(body)?;
    let mut messages = Vec::new();
    let mut news = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.into_iter().enumerate() {
        match into_new(input, At::Element(index)) {
            Ok(new) => news.push(new),
            Err(failed) => messages.extend(failed),
        }
    }
    if !messages.is_empty() {
        return Err(ServerError::Validation(messages));
    }
    let created = store_insert(&state, &caller, news).await?;
    let list = list_of(&created, &state.url_base, &filter)?;
    Ok((StatusCode::CREATED, Json(list)).into_response())
}

#[tracing::instrument(name = "subscription.get", skip_all, fields(company_id = caller.company().id, id))]
async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    query: QueryParams,
) -> Result<Response, ServerError> {
    let id = path_id(&id)?;
    tracing::Span::current().record("id", id);
    let filter = query.fields()?;
    let record = find(&state, &caller, id).await?;
    let value = render(&record, &state.url_base, &filter)?;
    Ok(Json(ValueResponse::new(value)).into_response())
}

/// `PUT /event/subscription/{id}` (also the dashboard's Re-enable and Disable).
#[tracing::instrument(name = "subscription.update", skip_all, fields(company_id = caller.company().id, id))]
pub(crate) async fn update_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ServerError> {
    let id = path_id(&id)?;
    tracing::Span::current().record("id", id);
    let filter = query.fields()?;
    let input = parse_input(body, At::Body)?;
    let record = find(&state, &caller, id).await?;
    let update = into_update(input, At::Body, Some(&record)).map_err(ServerError::Validation)?;
    let previous = HashMap::from([(id, record.status.clone())]);
    let updated = store_update(&state, &caller, vec![(id, update)]).await?;
    announce_statuses(&state, &caller, &previous, &updated);
    let record = updated
        .first()
        .ok_or_else(|| missing("updated subscription"))?;
    let value = render(record, &state.url_base, &filter)?;
    Ok(Json(ValueResponse::new(value)).into_response())
}

#[tracing::instrument(name = "subscription.update_list", skip_all, fields(company_id = caller.company().id))]
async fn update_list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ServerError> {
    let filter = query.fields()?;
    let inputs = parse_list(body)?;
    let mut messages = Vec::new();
    let mut pending = Vec::with_capacity(inputs.len());
    let mut previous = HashMap::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let at = At::Element(index);
        let Some(id) = input.body.id else {
            messages.push(at.message("id", "The id is required to update a subscription."));
            messages.extend(into_update(input, at, None).err().unwrap_or_default());
            continue;
        };
        let record = find(&state, &caller, id).await?;
        previous.insert(id, record.status.clone());
        match into_update(input, at, Some(&record)) {
            Ok(update) => pending.push((id, update)),
            Err(failed) => messages.extend(failed),
        }
    }
    if !messages.is_empty() {
        return Err(ServerError::Validation(messages));
    }
    let updated = store_update(&state, &caller, pending).await?;
    announce_statuses(&state, &caller, &previous, &updated);
    let list = list_of(&updated, &state.url_base, &filter)?;
    Ok(Json(list).into_response())
}

#[tracing::instrument(name = "subscription.delete", skip_all, fields(company_id = caller.company().id, id))]
async fn delete_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, ServerError> {
    let id = path_id(&id)?;
    tracing::Span::current().record("id", id);
    store_delete(&state, &caller, &[id]).await
}

#[tracing::instrument(name = "subscription.delete_list", skip_all, fields(company_id = caller.company().id))]
async fn delete_list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> Result<StatusCode, ServerError> {
    let ids = parse_ids(query.required("ids")?)?;
    store_delete(&state, &caller, &ids).await
}

// ---------------------------------------------------------------------------
// Storage calls
// ---------------------------------------------------------------------------

/// The caller's subscription `id`, or 404.
async fn find(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<SubscriptionRecord, ServerError> {
    state
        .store
        .get_subscription(caller.company().id, id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("subscription {id} not found")))
}

async fn store_insert(
    state: &AppState,
    caller: &Caller,
    news: Vec<NewSubscription>,
) -> Result<Vec<SubscriptionRecord>, ServerError> {
    let now_ms = state.clock.now_ms();
    let created = state
        .store
        .insert_subscriptions(caller.company(), now_ms, news)
        .await?;
    for record in &created {
        tracing::info!(id = record.id, event = %record.event, status = %record.status.as_str(), "subscription created");
    }
    Ok(created)
}

async fn store_update(
    state: &AppState,
    caller: &Caller,
    pending: Vec<(i64, SubscriptionUpdate)>,
) -> Result<Vec<SubscriptionRecord>, ServerError> {
    let now_ms = state.clock.now_ms();
    let updated = state
        .store
        .update_subscriptions(caller.company(), now_ms, pending)
        .await?;
    for record in &updated {
        tracing::info!(id = record.id, version = record.version, event = %record.event, status = %record.status.as_str(), "subscription updated");
    }
    Ok(updated)
}

async fn store_delete(
    state: &AppState,
    caller: &Caller,
    ids: &[i64],
) -> Result<StatusCode, ServerError> {
    state
        .store
        .delete_subscriptions(caller.company().id, ids)
        .await?;
    tracing::info!(?ids, "subscriptions deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Tells the live stream about statuses an update changed (`previous`: the
/// statuses before it, by id).
fn announce_statuses(
    state: &AppState,
    caller: &Caller,
    previous: &HashMap<i64, SubscriptionStatus>,
    updated: &[SubscriptionRecord],
) {
    if !state.live.is_listening() {
        return;
    }
    for record in updated {
        if let Some(before) = previous.get(&record.id) {
            if *before != record.status {
                state.live.status_seen(
                    caller.company().id,
                    subscription_of(record, &state.url_base),
                    Some(before.clone()),
                );
            }
        }
    }
}

/// A store answer that should have contained a value but did not.
fn missing(what: &str) -> ServerError {
    ServerError::Store(StoreError::Backend(format!("the store returned no {what}")))
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// A subscription as returned, shaped by `filter` (`changes` only when it names it).
fn render(
    record: &SubscriptionRecord,
    url_base: &str,
    filter: &FieldsFilter,
) -> Result<Value, ServerError> {
    let subscription = subscription_of(record, url_base);
    let value = serde_json::to_value(&subscription).map_err(|error| {
        ServerError::Store(StoreError::Backend(format!(
            "rendering a subscription: {error}"
        )))
    })?;
    Ok(filter.apply(&with_explicit_nulls(value)))
}

/// A subscription as the API returns it, before a `fields` filter.
pub(crate) fn subscription_of(record: &SubscriptionRecord, url_base: &str) -> Subscription {
    Subscription {
        id: Some(record.id),
        version: Some(record.version),
        changes: Some(record.changes.clone()),
        url: Some(object_url(url_base, RESOURCE, record.id)),
        event: Some(record.event.clone()),
        target_url: Some(record.target_url.clone()),
        fields: record.fields.clone(),
        status: Some(record.status.clone()),
        auth_header_name: record.auth_header_name.clone(),
        extra: Map::new(),
    }
}

/// The keys of a rendered subscription, in Tripletex's order.
const KEY_ORDER: [&str; 9] = [
    "id",
    "version",
    "changes",
    "url",
    "event",
    "targetUrl",
    "fields",
    "status",
    "authHeaderName",
];

/// Unset keys Tripletex returns as `null` (its recorded create response has
/// `"fields":null` and `"authHeaderName":null`).
const EXPLICIT_NULLS: [&str; 2] = ["fields", "authHeaderName"];

/// `value` with `null` for its unset [`EXPLICIT_NULLS`], in [`KEY_ORDER`].
fn with_explicit_nulls(value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut ordered = Map::with_capacity(map.len() + EXPLICIT_NULLS.len());
    for key in KEY_ORDER {
        match map.remove(key) {
            Some(value) => {
                ordered.insert(key.to_owned(), value);
            }
            None if EXPLICIT_NULLS.contains(&key) => {
                ordered.insert(key.to_owned(), Value::Null);
            }
            None => {}
        }
    }
    ordered.extend(map);
    Value::Object(ordered)
}

fn render_all(
    records: &[SubscriptionRecord],
    url_base: &str,
    filter: &FieldsFilter,
) -> Result<Vec<Value>, ServerError> {
    records
        .iter()
        .map(|record| render(record, url_base, filter))
        .collect()
}

/// All of `records` as one list response (the answer of the bulk endpoints).
fn list_of(
    records: &[SubscriptionRecord],
    url_base: &str,
    filter: &FieldsFilter,
) -> Result<ListResponse<Value>, ServerError> {
    let values = render_all(records, url_base, filter)?;
    let total = i64::try_from(values.len()).unwrap_or(i64::MAX);
    Ok(ListResponse::page(values, 0, total))
}

/// `count` records starting at `from`.
fn page_of(records: &[SubscriptionRecord], from: i64, count: i64) -> &[SubscriptionRecord] {
    let start = usize::try_from(from)
        .unwrap_or(usize::MAX)
        .min(records.len());
    let rest = &records[start..];
    let len = usize::try_from(count).unwrap_or(usize::MAX).min(rest.len());
    &rest[..len]
}

/// The checksum of a whole (sorted) result: its ids, versions and statuses
/// (the system changes a status without a new version), `None` when empty.
fn version_digest(records: &[SubscriptionRecord]) -> Option<String> {
    crate::digest::result_digest(
        records
            .iter()
            .map(|r| format!("{}:{}:{}", r.id, r.version, r.status.as_str())),
    )
}

/// The request's `If-None-Match`, without ETag decoration (`W/`, quotes);
/// `None` when absent or empty.
fn if_none_match(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(IF_NONE_MATCH)?.to_str().ok()?.trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    let raw = raw.trim_matches('"').trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

// ---------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------

/// A path `{id}` (400 when it is not an integer).
fn path_id(raw: &str) -> Result<i64, ServerError> {
    raw.parse().map_err(|_| {
        ServerError::BadRequest(format!(
            "The path parameter id must be an integer, not '{raw}'."
        ))
    })
}

/// `ids=1,2,3` (422 code 21000 unless every element is an integer).
fn parse_ids(raw: &str) -> Result<Vec<i64>, ServerError> {
    raw.split(',')
        .map(|part| {
            part.trim().parse::<i64>().map_err(|_| {
                ServerError::Param(format!(
                    "'ids' must be a comma-separated list of ids, not '{raw}'."
                ))
            })
        })
        .collect()
}

/// A field subscriptions can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Id,
    Version,
    Event,
    TargetUrl,
    Status,
    Fields,
    AuthHeaderName,
}

impl SortKey {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "version" => Self::Version,
            "event" => Self::Event,
            "targetUrl" => Self::TargetUrl,
            "status" => Self::Status,
            "fields" => Self::Fields,
            "authHeaderName" => Self::AuthHeaderName,
            _ => return None,
        })
    }

    fn compare(self, a: &SubscriptionRecord, b: &SubscriptionRecord) -> Ordering {
        match self {
            Self::Id => a.id.cmp(&b.id),
            Self::Version => a.version.cmp(&b.version),
            Self::Event => a.event.to_string().cmp(&b.event.to_string()),
            Self::TargetUrl => a.target_url.cmp(&b.target_url),
            Self::Status => a.status.as_str().cmp(b.status.as_str()),
            Self::Fields => a.fields.cmp(&b.fields),
            Self::AuthHeaderName => a.auth_header_name.cmp(&b.auth_header_name),
        }
    }
}

/// One element of `sorting`: a field, ascending unless prefixed with `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SortField {
    key: SortKey,
    descending: bool,
}

/// `sorting=event, -id` (422 code 17000 for a field that cannot be sorted by).
fn parse_sorting(raw: &str) -> Result<Vec<SortField>, ServerError> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(|part| {
            let part = part.trim();
            let (descending, name) = match part.strip_prefix('-') {
                Some(name) => (true, name.trim()),
                None => (false, part),
            };
            let key = SortKey::from_name(name).ok_or_else(|| {
                ServerError::Sorting(format!(
                    "Cannot sort subscriptions by '{name}'; use id, version, event, targetUrl, status, fields or authHeaderName."
                ))
            })?;
            Ok(SortField { key, descending })
        })
        .collect()
}

/// The order of `sorting`, then by id.
fn compare(a: &SubscriptionRecord, b: &SubscriptionRecord, sorting: &[SortField]) -> Ordering {
    sorting
        .iter()
        .map(|field| {
            let order = field.key.compare(a, b);
            if field.descending {
                order.reverse()
            } else {
                order
            }
        })
        .find(|order| order.is_ne())
        .unwrap_or_else(|| a.id.cmp(&b.id))
}

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

/// Where an input sits: the whole body, or element `i` of a list body.
#[derive(Debug, Clone, Copy)]
enum At {
    Body,
    Element(usize),
}

impl At {
    /// A validation message about `field`, with a `path` in list bodies.
    fn message(self, field: &str, message: impl Into<String>) -> ApiValidationMessage {
        let mut message = ApiValidationMessage::new(field, message);
        if let Self::Element(index) = self {
            message.path = Some(format!("[{index}].{field}"));
        }
        message
    }

    /// A mapping error (422, code 16000) about this input.
    fn mapping(self, detail: impl std::fmt::Display) -> ServerError {
        match self {
            Self::Body => ServerError::Mapping(detail.to_string()),
            Self::Element(index) => ServerError::Mapping(format!("[{index}]: {detail}")),
        }
    }
}

/// A body element, mapped but not validated: `event` as sent, everything else.
struct Input {
    /// The raw `event`, when one was sent (not `null`).
    event: Option<String>,
    /// The other fields (`event` is always `None` here).
    body: SubscriptionUpdate,
}

/// A list body: a JSON array of subscription objects.
fn parse_list(body: Value) -> Result<Vec<Input>, ServerError> {
    let Value::Array(items) = body else {
        return Err(ServerError::Mapping(
            "The request body must be a JSON array of subscriptions.".to_owned(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_input(item, At::Element(index)))
        .collect()
}

/// Maps one subscription object, keeping `event` aside so that a malformed
/// name is reported by validation rather than as a mapping error.
fn parse_input(value: Value, at: At) -> Result<Input, ServerError> {
    let Value::Object(mut object) = value else {
        return Err(at.mapping("a subscription must be a JSON object"));
    };
    let event = match object.remove("event") {
        None | Some(Value::Null) => None,
        Some(Value::String(event)) => Some(event),
        Some(_) => return Err(at.mapping("`event` must be a string")),
    };
    let body: SubscriptionUpdate =
        serde_json::from_value(Value::Object(object)).map_err(|error| at.mapping(error))?;
    Ok(Input { event, body })
}

/// A validated create body.
fn into_new(input: Input, at: At) -> Result<NewSubscription, Vec<ApiValidationMessage>> {
    let mut messages = Vec::new();
    let event = if let Some(raw) = &input.event {
        check_event(raw, at, &mut messages)
    } else {
        messages.push(at.message("event", "The event is required."));
        None
    };
    if input.body.target_url.is_none() {
        messages.push(at.message("targetUrl", "The target URL is required."));
    }
    let body = without_empty_values(input.body);
    check_values(&body, at, None, &mut messages);
    match (event, body.target_url) {
        (Some(event), Some(target_url)) if messages.is_empty() => Ok(NewSubscription {
            event,
            target_url,
            fields: body.fields,
            status: body.status,
            auth_header_name: body.auth_header_name,
            auth_header_value: body.auth_header_value,
            hmac_shared_secret: body.hmac_shared_secret,
        }),
        _ => Err(messages),
    }
}

/// A validated partial update of `existing` (`None` when its id is missing).
fn into_update(
    input: Input,
    at: At,
    existing: Option<&SubscriptionRecord>,
) -> Result<SubscriptionUpdate, Vec<ApiValidationMessage>> {
    let mut messages = Vec::new();
    let event = input
        .event
        .as_deref()
        .and_then(|raw| check_event(raw, at, &mut messages));
    check_values(&input.body, at, existing, &mut messages);
    if messages.is_empty() {
        Ok(SubscriptionUpdate {
            event,
            ..input.body
        })
    } else {
        Err(messages)
    }
}

/// On create, an empty optional string is the same as leaving it out.
fn without_empty_values(body: SubscriptionUpdate) -> SubscriptionUpdate {
    SubscriptionUpdate {
        fields: body.fields.filter(|f| !f.is_empty()),
        auth_header_name: body.auth_header_name.filter(|n| !n.is_empty()),
        auth_header_value: body.auth_header_value.filter(not_empty),
        hmac_shared_secret: body.hmac_shared_secret.filter(not_empty),
        ..body
    }
}

fn not_empty(secret: &SecretString) -> bool {
    !secret.expose_secret().is_empty()
}

/// `event`: at most 255 characters, `subject.verb`, and in the catalogue.
fn check_event(raw: &str, at: At, messages: &mut Vec<ApiValidationMessage>) -> Option<EventType> {
    let problem = if raw.chars().count() > MAX_EVENT {
        format!("The event must be at most {MAX_EVENT} characters.")
    } else {
        match raw.parse::<EventType>() {
            Ok(event) if is_catalogued(&event) => return Some(event),
            Ok(event) => format!("'{event}' is not an event in the catalogue (GET /v2/event)."),
            Err(error) => format!("The event must be of the form subject.verb: {error}"),
        }
    };
    messages.push(at.message("event", problem));
    None
}

/// Every field except `event`; `existing` is the subscription being updated.
fn check_values(
    body: &SubscriptionUpdate,
    at: At,
    existing: Option<&SubscriptionRecord>,
    messages: &mut Vec<ApiValidationMessage>,
) {
    let checks = [
        (
            "targetUrl",
            body.target_url.as_deref().and_then(target_url_problem),
        ),
        ("fields", body.fields.as_deref().and_then(fields_problem)),
        (
            "authHeaderName",
            body.auth_header_name.as_deref().and_then(|name| {
                too_long(name, MAX_AUTH_HEADER_NAME).or_else(|| header_name_problem(name))
            }),
        ),
        ("authHeaderValue", auth_header_value_problem(body, existing)),
        (
            "hmacSharedSecret",
            body.hmac_shared_secret.as_ref().and_then(hmac_problem),
        ),
        ("status", body.status.as_ref().and_then(status_problem)),
    ];
    for (field, problem) in checks {
        if let Some(problem) = problem {
            messages.push(at.message(field, problem));
        }
    }
}

fn too_long(value: &str, max: usize) -> Option<String> {
    (value.chars().count() > max).then(|| format!("Must be at most {max} characters."))
}

fn target_url_problem(target_url: &str) -> Option<String> {
    too_long(target_url, MAX_TARGET_URL).or_else(|| sendable::target_url_problem(target_url))
}

fn fields_problem(fields: &str) -> Option<String> {
    if let Some(problem) = too_long(fields, MAX_FIELDS) {
        return Some(problem);
    }
    FieldsFilter::parse(fields)
        .err()
        .map(|error| format!("Illegal fields filter: {error}"))
}

/// The value's length and characters, and that a header value has a header
/// name (after the update).
fn auth_header_value_problem(
    body: &SubscriptionUpdate,
    existing: Option<&SubscriptionRecord>,
) -> Option<String> {
    if let Some(problem) = body.auth_header_value.as_ref().and_then(|value| {
        let value = value.expose_secret();
        too_long(value, MAX_AUTH_HEADER_VALUE).or_else(|| header_value_problem(value))
    }) {
        return Some(problem);
    }
    let has_value = match &body.auth_header_value {
        Some(value) => not_empty(value),
        None => existing.is_some_and(|record| record.auth_header_value.is_some()),
    };
    let has_name = match &body.auth_header_name {
        Some(name) => !name.is_empty(),
        None => existing.is_some_and(|record| record.auth_header_name.is_some()),
    };
    (has_value && !has_name).then(|| "An authHeaderValue requires an authHeaderName.".to_owned())
}

fn hmac_problem(secret: &SecretString) -> Option<String> {
    let len = secret.expose_secret().chars().count();
    (len != 0 && !(MIN_HMAC_SECRET..=MAX_HMAC_SECRET).contains(&len)).then(|| {
        format!("The HMAC shared secret must be {MIN_HMAC_SECRET} to {MAX_HMAC_SECRET} characters.")
    })
}

fn status_problem(status: &SubscriptionStatus) -> Option<String> {
    (!matches!(
        status,
        SubscriptionStatus::Active | SubscriptionStatus::Disabled
    ))
    .then(|| {
        format!(
            "The status can be set to ACTIVE or DISABLED; '{}' is set by the system.",
            status.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_parses_names_directions_and_spaces() {
        let sorting = parse_sorting(" event, - id ,targetUrl").unwrap_or_default();
        assert_eq!(
            sorting,
            vec![
                SortField {
                    key: SortKey::Event,
                    descending: false
                },
                SortField {
                    key: SortKey::Id,
                    descending: true
                },
                SortField {
                    key: SortKey::TargetUrl,
                    descending: false
                },
            ]
        );
        assert!(parse_sorting("").is_ok_and(|s| s.is_empty()));
        for bad in ["name", "id,", "-", "Id"] {
            assert!(
                matches!(parse_sorting(bad), Err(ServerError::Sorting(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_parse_or_fail_with_a_param_error() {
        assert!(parse_ids("1, 2,3").is_ok_and(|ids| ids == [1, 2, 3]));
        for bad in ["x", "1,,2", "1;2", "1,"] {
            assert!(
                matches!(parse_ids(bad), Err(ServerError::Param(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn if_none_match_drops_etag_decoration() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_none_match(&headers), None);
        for raw in ["abc", "\"abc\"", "W/\"abc\"", " abc "] {
            headers.insert(
                IF_NONE_MATCH,
                raw.parse().unwrap_or_else(|_| unreachable!()),
            );
            assert_eq!(if_none_match(&headers).as_deref(), Some("abc"), "{raw}");
        }
    }

    #[test]
    fn target_urls_must_be_absolute_http() {
        assert_eq!(target_url_problem("https://u:p@example.com/hook?t=1"), None);
        assert_eq!(target_url_problem("http://127.0.0.1:9/x"), None);
        for bad in [
            "/relative",
            "ftp://example.com",
            "example.com",
            "mailto:a@b.c",
            "",
        ] {
            assert!(target_url_problem(bad).is_some(), "{bad}");
        }
        assert!(
            target_url_problem(&format!("https://e.com/{}", "a".repeat(MAX_TARGET_URL))).is_some()
        );
    }
}
