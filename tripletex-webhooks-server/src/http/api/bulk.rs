//! The bulk endpoints of the official document (`POST /{path}/list`, `PUT
//! /{path}/list`, `DELETE /{path}/list?ids=`), where it has them: every
//! object is checked, then all are written in one transaction, so a call
//! that fails for one object (in its body, or in the store: a stale
//! `version`, a missing id) writes none; each object's write emits its own
//! events. Messages of a failing object carry its index (`[1].name`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::MethodRouter;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value};
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{ApiValidationMessage, ListResponse};

use crate::domain::resources::Resource;
use crate::domain::resources::validate::{InvalidBody, check_create, check_update};
use crate::http::api::resources::shape_record;
use crate::http::api::writes;
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::extract::{ApiJson, QueryParams};
use crate::http::state::AppState;
use crate::store::ObjectRecord;

/// The `/list` route of a resource, with the methods the document has.
pub(crate) fn routes(resource: &'static Resource, path: &str) -> Router<AppState> {
    let mut route = MethodRouter::new();
    let mut any = false;
    if resource.has_list("post") {
        route = route.post(create_list);
        any = true;
    }
    if resource.has_list("put") {
        route = route.put(update_list);
        any = true;
    }
    if resource.has_list("delete") {
        route = route.delete(delete_list);
        any = true;
    }
    if any {
        Router::new().route(path, route)
    } else {
        Router::new()
    }
}

type List200 = Json<ListResponse<Value>>;

async fn create_list(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    caller: Caller,
    query: QueryParams,
    ApiJson(bodies): ApiJson<Vec<Map<String, Value>>>,
) -> Result<(StatusCode, List200), ServerError> {
    let filter = query.fields()?;
    let checked = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            check_create(resource, body, &state.url_base)
                .map(|body| writes::create(resource, body))
                .map_err(|error| at_index(index, error))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let records = writes::store(&state, &caller, resource, checked).await?;
    let values = shape_all(&state, &caller, resource, &records, &filter).await?;
    let total = i64::try_from(values.len()).unwrap_or(i64::MAX);
    Ok((
        StatusCode::CREATED,
        Json(ListResponse::page(values, 0, total)),
    ))
}

async fn update_list(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    caller: Caller,
    query: QueryParams,
    ApiJson(bodies): ApiJson<Vec<Map<String, Value>>>,
) -> Result<List200, ServerError> {
    let filter = query.fields()?;
    let checked = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            let id = object_id(index, &body)?;
            let update = check_update(resource, body, &state.url_base)
                .map_err(|error| at_index(index, error))?;
            Ok(writes::update(resource, id, update))
        })
        .collect::<Result<Vec<_>, ServerError>>()?;
    let records = writes::store(&state, &caller, resource, checked).await?;
    let values = shape_all(&state, &caller, resource, &records, &filter).await?;
    let total = i64::try_from(values.len()).unwrap_or(i64::MAX);
    Ok(Json(ListResponse::page(values, 0, total)))
}

async fn delete_list(
    State(state): State<AppState>,
    Extension(resource): Extension<&'static Resource>,
    caller: Caller,
    query: QueryParams,
) -> Result<StatusCode, ServerError> {
    let deletes = query
        .required("ids")?
        .split(',')
        .map(|id| {
            id.trim()
                .parse::<i64>()
                .map_err(|_| ServerError::Param(format!("'{id}' in ids is not an object id.")))
        })
        .map(|id| id.map(|id| writes::delete(resource, id)))
        .collect::<Result<Vec<_>, _>>()?;
    writes::store(&state, &caller, resource, deletes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API values of the objects a bulk write stored, shaped by `filter`.
async fn shape_all(
    state: &AppState,
    caller: &Caller,
    resource: &'static Resource,
    records: &[ObjectRecord],
    filter: &FieldsFilter,
) -> Result<Vec<Value>, ServerError> {
    let mut values = Vec::with_capacity(records.len());
    for record in records {
        values.push(shape_record(state, caller, resource, record, filter).await?);
    }
    Ok(values)
}

/// The `id` an object of a bulk update must carry.
fn object_id(index: usize, body: &Map<String, Value>) -> Result<i64, ServerError> {
    body.get("id")
        .and_then(Value::as_i64)
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ServerError::Validation(vec![ApiValidationMessage {
                path: Some(format!("[{index}].id")),
                ..ApiValidationMessage::new("id", "Each object of a bulk update needs its id.")
            }])
        })
}

/// A failing object's error, its messages' paths prefixed with its index.
fn at_index(index: usize, error: InvalidBody) -> ServerError {
    let prefix = |messages: Vec<ApiValidationMessage>| {
        messages
            .into_iter()
            .map(|message| ApiValidationMessage {
                path: Some(format!(
                    "[{index}].{}",
                    message.path.as_deref().unwrap_or_default()
                )),
                ..message
            })
            .collect()
    };
    match error {
        InvalidBody::Fields(messages) => ServerError::Validation(prefix(messages)),
        InvalidBody::Mapping(messages) => ServerError::MappingFields(prefix(messages)),
    }
}
