//! The object endpoints of every hosted resource (`/v2/product`,
//! `/v2/ledger/account`, ...): create, read, partial update, delete and list.
//! The handlers are generic; each resource's routes carry its
//! [`Resource`] row as an extension.
//!
//! Writes emit the resource's events through the store, in the same
//! transaction as the change. Lists honour `from`, `count` and `fields`, and
//! Tripletex's checksum protocol: with `If-None-Match`, `versionDigest` is a
//! checksum of the whole result, and resending it gets `304 Not Modified`
//! while nothing changed.

use axum::extract::{Path, State};
use axum::http::header::IF_NONE_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{ListResponse, ValueResponse};

use crate::domain::object::render;
use crate::domain::resources::validate::{check_create, check_update};
use crate::domain::resources::{Operation, RESOURCES, Resource, shape};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::middleware::RequestId;
use crate::http::state::AppState;
use crate::store::{ObjectRecord, StoreError, WriteContext};

/// The routes of every hosted resource.
pub(crate) fn routes() -> Router<AppState> {
    RESOURCES.iter().fold(Router::new(), |router, resource| {
        router.merge(resource_routes(resource))
    })
}

fn resource_routes(resource: &'static Resource) -> Router<AppState> {
    let collection = format!("/v2/{}", resource.path);
    let item = format!("{collection}/{{id}}");
    Router::new()
        .route(&collection, get(list).post(create))
        .route(&item, get(read).put(update).delete(delete))
        .layer(Extension(resource))
}

type Value200 = Json<ValueResponse<Value>>;

async fn create(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    Extension(request_id): Extension<RequestId>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<(StatusCode, Value200), ServerError> {
    let filter = query.fields()?;
    let body = check_create(resource, body, &state.url_base)?;
    let events = resource.events(Operation::Create);
    let record = state
        .store
        .create_object(
            write_context(&state, &caller, &events, &request_id),
            resource.path,
            body,
        )
        .await?;
    let value = shape_record(&state, &caller, resource, &record, &filter).await?;
    Ok((StatusCode::CREATED, Json(ValueResponse::new(value))))
}

async fn read(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    Path(id): Path<String>,
    caller: Caller,
    query: QueryParams,
) -> Result<Value200, ServerError> {
    let id = parse_id(&id)?;
    let filter = query.fields()?;
    let record = state
        .store
        .get_object(caller.company().id, resource.path, id)
        .await?
        .ok_or_else(|| not_found(resource, id))?;
    let value = shape_record(&state, &caller, resource, &record, &filter).await?;
    Ok(Json(ValueResponse::new(value)))
}

async fn update(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Value200, ServerError> {
    let id = parse_id(&id)?;
    let filter = query.fields()?;
    let update = check_update(resource, body, &state.url_base)?;
    let events = resource.events(Operation::Update);
    let record = state
        .store
        .update_object(
            write_context(&state, &caller, &events, &request_id),
            resource.path,
            id,
            update.expected_version,
            update.patch,
        )
        .await
        .map_err(|error| write_error(resource, error))?;
    let value = shape_record(&state, &caller, resource, &record, &filter).await?;
    Ok(Json(ValueResponse::new(value)))
}

async fn delete(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, ServerError> {
    let id = parse_id(&id)?;
    let events = resource.events(Operation::Delete);
    state
        .store
        .delete_object(
            write_context(&state, &caller, &events, &request_id),
            resource.path,
            id,
        )
        .await
        .map_err(|error| write_error(resource, error))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    caller: Caller,
    query: QueryParams,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let (from, count) = query.paging()?;
    let filter = query.fields()?;
    let page = state
        .store
        .list_objects(caller.company().id, resource.path, from, count)
        .await?;
    // The digest is a checksum only for callers that ask for one.
    let sent = if_none_match(&headers);
    if sent.is_some() && sent == page.digest.as_deref() {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let version_digest = sent.and(page.digest);
    let mut values = Vec::with_capacity(page.values.len());
    for record in &page.values {
        values.push(shape_record(&state, &caller, resource, record, &filter).await?);
    }
    let mut response = ListResponse::page(values, from, page.total);
    response.version_digest = version_digest;
    Ok(Json(response).into_response())
}

/// The object as the caller asked for it.
async fn shape_record(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    record: &ObjectRecord,
    filter: &FieldsFilter,
) -> Result<Value, ServerError> {
    let object = render(record, &state.url_base);
    Ok(shape(
        state.store.as_ref(),
        caller.company().id,
        &state.url_base,
        &resource.subject,
        object,
        filter,
    )
    .await?)
}

fn write_context<'a>(
    state: &AppState,
    caller: &Caller,
    emits: &'a [tripletex_webhooks_types::EventType],
    request_id: &'a RequestId,
) -> WriteContext<'a> {
    WriteContext {
        company: caller.company(),
        now_ms: state.clock.now_ms(),
        emits,
        request_id: Some(&request_id.0),
    }
}

/// A non-empty `If-None-Match`, without the quotes an HTTP client may add.
fn if_none_match(headers: &HeaderMap) -> Option<&str> {
    let raw = headers.get(IF_NONE_MATCH)?.to_str().ok()?.trim();
    let unquoted = raw.trim_start_matches("W/").trim_matches('"');
    Some(unquoted).filter(|value| !value.is_empty())
}

/// An id from the path; like JAX-RS (which Tripletex runs on), a path that
/// does not convert is no object at all: 404.
fn parse_id(raw: &str) -> Result<i64, ServerError> {
    raw.parse()
        .map_err(|_| ServerError::NotFound(format!("'{raw}' is not an object id.")))
}

fn not_found(resource: &Resource, id: i64) -> ServerError {
    ServerError::NotFound(format!("{} {id} not found.", resource.path))
}

/// Maps the store's refusals of a change to their API errors.
fn write_error(resource: &Resource, error: StoreError) -> ServerError {
    match error {
        StoreError::NotFound { id, .. } => not_found(resource, id),
        StoreError::Conflict { .. } => ServerError::Revision(format!("{}: {error}", resource.path)),
        StoreError::Unavailable(_) | StoreError::Backend(_) => ServerError::Store(error),
    }
}
