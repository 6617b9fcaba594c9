//! The object endpoints of every hosted resource (`/v2/product`,
//! `/v2/ledger/account`, ...): create, read, partial update, delete and list.
//! The handlers are generic; each resource's routes carry its
//! [`Resource`] row as an extension.
//!
//! Writes emit the resource's events through the store, in the same
//! transaction as the change. Lists honour the search parameters of the
//! official list operation and `sorting` ([`crate::domain::query`]), `from`,
//! `count` and `fields`, and
//! Tripletex's checksum protocol: with `If-None-Match`, `versionDigest` is a
//! checksum of the whole result, and resending it gets `304 Not Modified`
//! while nothing changed.

use axum::extract::{Path, State};
use axum::http::header::IF_NONE_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{ListResponse, ValueResponse};

use crate::digest::result_digest;
use crate::domain::object::render;
use crate::domain::query::{Lookup, Query};
use crate::domain::resources::validate::{check_create, check_update};
use crate::domain::resources::{RESOURCES, Resource, shape};
use crate::http::api::bulk;
use crate::http::api::writes::{self, not_found};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::store::{ObjectRecord, Page};

/// The routes of every hosted resource.
pub(crate) fn routes() -> Router<AppState> {
    RESOURCES.iter().fold(Router::new(), |router, resource| {
        router.merge(resource_routes(resource))
    })
}

/// The operations the official document has for the resource: the
/// collection, the item's methods, and the bulk `/list` methods.
fn resource_routes(resource: &'static Resource) -> Router<AppState> {
    let collection = format!("/v2/{}", resource.path);
    let mut item = MethodRouter::new().get(read);
    if resource.has_item("put") {
        item = item.put(update);
    }
    if resource.has_item("delete") {
        item = item.delete(delete);
    }
    Router::new()
        .route(&collection, get(list).post(create))
        .route(&format!("{collection}/{{id}}"), item)
        .merge(bulk::routes(resource, &format!("{collection}/list")))
        .layer(Extension(resource))
}

type Value200 = Json<ValueResponse<Value>>;

async fn create(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<(StatusCode, Value200), ServerError> {
    let filter = query.fields()?;
    let body = check_create(resource, body, &state.url_base)?;
    let write = writes::create(resource, body);
    let record = writes::store_one(&state, &caller, resource, write).await?;
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
    Path(id): Path<String>,
    caller: Caller,
    query: QueryParams,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Value200, ServerError> {
    let id = parse_id(&id)?;
    let filter = query.fields()?;
    let update = check_update(resource, body, &state.url_base)?;
    let write = writes::update(resource, id, update);
    let record = writes::store_one(&state, &caller, resource, write).await?;
    let value = shape_record(&state, &caller, resource, &record, &filter).await?;
    Ok(Json(ValueResponse::new(value)))
}

async fn delete(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<StatusCode, ServerError> {
    let id = parse_id(&id)?;
    writes::store_one(&state, &caller, resource, writes::delete(resource, id)).await?;
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
    let search = Query::parse(resource, &query.0)?;
    let page = select(
        &state,
        caller.company().id,
        resource.path,
        &search,
        from,
        count,
    )
    .await?;
    // The digest is a checksum only for callers that ask for one.
    let sent = if_none_match(&headers);
    if sent.is_some() && sent == page.digest.as_deref() {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let mut values = Vec::with_capacity(page.values.len());
    for object in page.values {
        values.push(shape_object(&state, &caller, resource, object, &filter).await?);
    }
    let mut response = ListResponse::page(values, from, page.total);
    response.version_digest = sent.and(page.digest);
    Ok(Json(response).into_response())
}

/// The page `from`, `count` of the objects `search` selects, rendered, with
/// the size and digest of the whole selection. A query without filters or
/// sorting is the store's own page; any other reads the resource whole.
async fn select(
    state: &AppState,
    company_id: i64,
    resource: &str,
    search: &Query,
    from: i64,
    count: i64,
) -> Result<Page<Value>, ServerError> {
    if search.is_empty() {
        let page = state
            .store
            .list_objects(company_id, resource, from, count)
            .await?;
        return Ok(Page {
            values: page
                .values
                .iter()
                .map(|record| render(record, &state.url_base))
                .collect(),
            total: page.total,
            digest: page.digest,
        });
    }
    let objects = all_objects(state, company_id, resource).await?;
    let lookup = lookup(state, company_id, search).await?;
    let selected = search.select(objects, &lookup);
    let digest = result_digest(
        selected
            .iter()
            .map(|object| format!("{}:{}", object["id"], object["version"])),
    );
    let total = i64::try_from(selected.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(from).unwrap_or(usize::MAX);
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    Ok(Page {
        values: selected.into_iter().skip(skip).take(take).collect(),
        total,
        digest,
    })
}

/// Every live object of a resource of the company, rendered, by id.
async fn all_objects(
    state: &AppState,
    company_id: i64,
    resource: &str,
) -> Result<Vec<Value>, ServerError> {
    let page = state
        .store
        .list_objects(company_id, resource, 0, i64::MAX)
        .await?;
    Ok(page
        .values
        .iter()
        .map(|record| render(record, &state.url_base))
        .collect())
}

/// The objects a query follows references into.
async fn lookup(state: &AppState, company_id: i64, search: &Query) -> Result<Lookup, ServerError> {
    let mut lookup = Lookup::new();
    for resource in search.loads() {
        for object in all_objects(state, company_id, resource).await? {
            if let Some(id) = object["id"].as_i64() {
                lookup.insert((resource, id), object);
            }
        }
    }
    Ok(lookup)
}

/// The object as the caller asked for it.
pub(crate) async fn shape_record(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    record: &ObjectRecord,
    filter: &FieldsFilter,
) -> Result<Value, ServerError> {
    let object = render(record, &state.url_base);
    shape_object(state, caller, resource, object, filter).await
}

/// A rendered object as the caller asked for it.
async fn shape_object(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    object: Value,
    filter: &FieldsFilter,
) -> Result<Value, ServerError> {
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

/// A non-empty `If-None-Match`, without the quotes an HTTP client may add.
fn if_none_match(headers: &HeaderMap) -> Option<&str> {
    let raw = headers.get(IF_NONE_MATCH)?.to_str().ok()?.trim();
    let unquoted = raw.trim_start_matches("W/").trim_matches('"');
    Some(unquoted).filter(|value| !value.is_empty())
}

/// An id from the path; like JAX-RS (which Tripletex runs on), a path that
/// does not convert is no object at all: 404.
pub(crate) fn parse_id(raw: &str) -> Result<i64, ServerError> {
    raw.parse()
        .map_err(|_| ServerError::NotFound(format!("'{raw}' is not an object id.")))
}
