//! The Objects pages: the ten hosted resources, a list per resource, and one
//! object as JSON (as `GET /v2/{resource}/{id}` answers) with its change log.
//!
//! The server keeps only an object's current version. Its history is its
//! change log (who changed it, when, how) and the delivery log, where each
//! delivery's request body is the object as of that event.

use askama::Template;
use axum::extract::{Path, State};
use tripletex_webhooks_types::fields::FieldsFilter;

use crate::domain::resources::{RESOURCES, Resource, by_path};
use crate::http::api::resources::shape_record;
use crate::http::error::ServerError;
use crate::http::state::AppState;
use crate::http::ui::HOME;
use crate::http::ui::auth::Viewer;
use crate::http::ui::page::{Chrome, UiResult, ok, query};

/// Objects per page of a resource's list.
const PAGE_SIZE: i64 = 50;

/// One resource on the index.
struct ResourceRow {
    path: &'static str,
    model: &'static str,
    count: i64,
}

/// The Objects index.
#[derive(Template)]
#[template(path = "objects.html")]
struct IndexPage {
    chrome: Chrome,
    resources: Vec<ResourceRow>,
}

/// `GET /_emulator/ui/objects`.
pub(crate) async fn index(State(state): State<AppState>, Viewer(caller): Viewer) -> UiResult {
    let mut resources = Vec::with_capacity(RESOURCES.len());
    for resource in RESOURCES {
        let page = state
            .store
            .list_objects(caller.company().id, resource.path, 0, 0)
            .await?;
        resources.push(ResourceRow {
            path: resource.path,
            model: resource.model,
            count: page.total,
        });
    }
    ok(&IndexPage {
        chrome: Chrome::new("objects", "Objects"),
        resources,
    })
}

/// One object in a resource's list.
struct ObjectRow {
    id: i64,
    version: i32,
    name: String,
}

/// A resource's list.
#[derive(Template)]
#[template(path = "object_list.html")]
struct ListPage {
    chrome: Chrome,
    path: &'static str,
    rows: Vec<ObjectRow>,
    total: i64,
    newer: Option<String>,
    older: Option<String>,
}

/// One change of an object's change log.
struct ChangeRow {
    kind: String,
    timestamp: String,
    employee: String,
}

/// One object.
#[derive(Template)]
#[template(path = "object.html")]
struct ObjectPage {
    chrome: Chrome,
    path: &'static str,
    id: i64,
    version: i32,
    json: String,
    changes: Vec<ChangeRow>,
    deliveries: String,
}

/// `GET /_emulator/ui/objects/{resource}` and `/_emulator/ui/objects/{resource}/{id}`
/// (a resource path may have a slash: `ledger/account`).
pub(crate) async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(rest): Path<String>,
    query_params: crate::http::extract::QueryParams,
) -> UiResult {
    let rest = rest.trim_end_matches('/');
    if let Some(resource) = by_path(rest) {
        let from = query_params
            .get("from")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0);
        return list(&state, &viewer, resource, from).await;
    }
    let found = rest
        .rsplit_once('/')
        .and_then(|(path, id)| Some((by_path(path)?, id.parse::<i64>().ok()?)));
    let Some((resource, id)) = found else {
        return Err(ServerError::NotFound(format!("No resource or object '{rest}'.")).into());
    };
    one(&state, &viewer, resource, id).await
}

async fn list(
    state: &AppState,
    viewer: &Viewer,
    resource: &'static Resource,
    from: i64,
) -> UiResult {
    let page = state
        .store
        .list_objects(viewer.0.company().id, resource.path, from, PAGE_SIZE)
        .await?;
    let shown = i64::try_from(page.values.len()).unwrap_or(0);
    let link = |at: i64| {
        let at = at.to_string();
        format!(
            "{HOME}objects/{}{}",
            resource.path,
            query([("from", at.as_str())])
        )
    };
    let rows = page
        .values
        .iter()
        .map(|record| ObjectRow {
            id: record.id,
            version: record.version,
            name: [
                "name",
                "displayName",
                "number",
                "invoiceNumber",
                "description",
            ]
            .iter()
            .find_map(|key| match record.body.get(*key) {
                Some(serde_json::Value::String(text)) if !text.is_empty() => Some(text.clone()),
                Some(serde_json::Value::Number(number)) => Some(number.to_string()),
                _ => None,
            })
            .unwrap_or_default(),
        })
        .collect();
    ok(&ListPage {
        chrome: Chrome::new("objects", format!("Objects: {}", resource.path)),
        path: resource.path,
        rows,
        total: page.total,
        newer: (from > 0).then(|| link((from - PAGE_SIZE).max(0))),
        older: (from + shown < page.total).then(|| link(from + PAGE_SIZE)),
    })
}

async fn one(state: &AppState, viewer: &Viewer, resource: &'static Resource, id: i64) -> UiResult {
    let caller = &viewer.0;
    let record = state
        .store
        .get_object(caller.company().id, resource.path, id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("No {} {id}.", resource.path)))?;
    let value = shape_record(state, caller, resource, &record, &FieldsFilter::default()).await?;
    let changes = record
        .changes
        .iter()
        .map(|change| ChangeRow {
            kind: change
                .change_type
                .as_ref()
                .and_then(|kind| serde_json::to_value(kind).ok())
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default(),
            timestamp: change.timestamp.clone().unwrap_or_default(),
            employee: change
                .employee_id
                .map(|e| e.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let id_text = id.to_string();
    ok(&ObjectPage {
        chrome: Chrome::new("objects", format!("{} {id}", resource.path)),
        path: resource.path,
        id,
        version: record.version,
        json: serde_json::to_string_pretty(&value).unwrap_or_default(),
        changes,
        deliveries: format!("{HOME}{}", query([("objectId", id_text.as_str())])),
    })
}
