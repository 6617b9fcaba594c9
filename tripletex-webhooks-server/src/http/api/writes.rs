//! Storing checked writes of hosted objects, shared by the single endpoints
//! and the bulk `/list` ones: the object's own write (which emits its events
//! in the same transaction), and the sub-objects created with it.
//!
//! New items of a nested list field (an order's new `orderLines`, a
//! voucher's new `postings`) are stored first, as objects of their own
//! resource (`order/orderline`, `ledger/posting`, which emit no events), and
//! replaced by stubs; once the parent exists, each gets the field that points
//! back to it. The store has no transaction over several objects, so a
//! failure between these writes leaves sub-objects no parent lists (see the
//! README's mapping table).

use serde_json::{Map, Value, json};
use tripletex_webhooks_types::EventType;

use crate::domain::object::object_url;
use crate::domain::resources::validate::{Update, is_new_item};
use crate::domain::resources::{Operation, Resource};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::state::AppState;
use crate::store::{ObjectRecord, StoreError, WriteContext};

/// A sub-object created with its parent, to point back at it.
struct Created {
    /// Its resource (`order/orderline`).
    resource: &'static str,
    /// Its id.
    id: i64,
    /// Its field that points to the parent (`order`).
    back: &'static str,
}

/// Stores a checked create, with its new sub-objects.
pub(crate) async fn create(
    state: &AppState,
    caller: &Caller,
    resource: &'static Resource,
    mut body: Map<String, Value>,
) -> Result<ObjectRecord, ServerError> {
    let created = create_new_items(state, caller, resource, &mut body).await?;
    let events = resource.events(Operation::Create);
    let record = state
        .store
        .create_object(context(state, caller, &events), resource.path, body)
        .await?;
    link_back(state, caller, resource, record.id, &created).await?;
    Ok(record)
}

/// Stores a checked update of object `id`, with its new sub-objects.
pub(crate) async fn update(
    state: &AppState,
    caller: &Caller,
    resource: &'static Resource,
    id: i64,
    mut update: Update,
) -> Result<ObjectRecord, ServerError> {
    let created = create_new_items(state, caller, resource, &mut update.patch).await?;
    let events = resource.events(Operation::Update);
    let record = state
        .store
        .update_object(
            context(state, caller, &events),
            resource.path,
            id,
            update.expected_version,
            update.patch,
        )
        .await
        .map_err(|error| write_error(resource, error))?;
    link_back(state, caller, resource, record.id, &created).await?;
    Ok(record)
}

/// Deletes object `id`.
pub(crate) async fn delete(
    state: &AppState,
    caller: &Caller,
    resource: &'static Resource,
    id: i64,
) -> Result<(), ServerError> {
    let events = resource.events(Operation::Delete);
    state
        .store
        .delete_object(context(state, caller, &events), resource.path, id)
        .await
        .map_err(|error| write_error(resource, error))?;
    Ok(())
}

/// Stores the new items of the nested list fields of `body` and puts their
/// stubs in their place.
async fn create_new_items(
    state: &AppState,
    caller: &Caller,
    resource: &'static Resource,
    body: &mut Map<String, Value>,
) -> Result<Vec<Created>, ServerError> {
    let mut created = Vec::new();
    for (field, value) in body.iter_mut() {
        let (Some(back), Some(target), Value::Array(items)) =
            (resource.nested(field), resource.target_of(field), value)
        else {
            continue;
        };
        for item in items.iter_mut() {
            if !is_new_item(resource, field, item) {
                continue;
            }
            let Value::Object(fields) = std::mem::take(item) else {
                continue;
            };
            let record = state
                .store
                .create_object(context(state, caller, &[]), target, fields)
                .await?;
            *item = stub(state, target, record.id);
            created.push(Created {
                resource: target,
                id: record.id,
                back,
            });
        }
    }
    Ok(created)
}

/// Points each created sub-object back at its parent.
async fn link_back(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    parent: i64,
    created: &[Created],
) -> Result<(), ServerError> {
    for sub in created {
        let mut patch = Map::new();
        patch.insert(sub.back.to_owned(), stub(state, resource.path, parent));
        state
            .store
            .update_object(
                context(state, caller, &[]),
                sub.resource,
                sub.id,
                None,
                patch,
            )
            .await?;
    }
    Ok(())
}

fn stub(state: &AppState, resource: &str, id: i64) -> Value {
    json!({"id": id, "url": object_url(&state.url_base, resource, id)})
}

fn context<'a>(state: &AppState, caller: &'a Caller, emits: &'a [EventType]) -> WriteContext<'a> {
    WriteContext {
        company: caller.company(),
        now_ms: state.clock.now_ms(),
        emits,
        request_id: caller.request_id(),
    }
}

/// The API error of a missing object.
pub(crate) fn not_found(resource: &Resource, id: i64) -> ServerError {
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
