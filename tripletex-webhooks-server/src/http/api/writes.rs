//! Storing checked writes of hosted objects, shared by the single endpoints
//! and the bulk `/list` ones: each API call is one batch of
//! [`ObjectWrite`]s, which the store executes in one transaction, all or
//! nothing, as Tripletex does.
//!
//! New items of a nested list field (an order's new `orderLines`, a
//! voucher's new `postings`) travel with their parent's write: the store
//! creates them as objects of their own resource (`order/orderline`,
//! `ledger/posting`, which emit no events), puts their stubs in their places
//! in the list, and points them back at the parent, in the parent's
//! transaction. Each object of a bulk write emits its own events.

use serde_json::{Map, Value};

use crate::domain::resources::validate::{Update, is_new_item};
use crate::domain::resources::{Operation, Resource};
use crate::http::auth::Caller;
use crate::http::error::ServerError;
use crate::http::state::AppState;
use crate::store::{
    Fields, NewItem, ObjectRecord, ObjectWrite, StoreError, WriteContext, WriteKind,
};

/// The write of a checked create, with its new sub-objects.
pub(crate) fn create(resource: &'static Resource, body: Map<String, Value>) -> ObjectWrite {
    ObjectWrite {
        resource: resource.path,
        kind: WriteKind::Create(fields(resource, body)),
        emits: resource.events(Operation::Create),
    }
}

/// The write of a checked update of object `id`, with its new sub-objects.
pub(crate) fn update(resource: &'static Resource, id: i64, update: Update) -> ObjectWrite {
    ObjectWrite {
        resource: resource.path,
        kind: WriteKind::Update {
            id,
            expected_version: update.expected_version,
            fields: fields(resource, update.patch),
        },
        emits: resource.events(Operation::Update),
    }
}

/// The write that deletes object `id`.
pub(crate) fn delete(resource: &'static Resource, id: i64) -> ObjectWrite {
    ObjectWrite {
        resource: resource.path,
        kind: WriteKind::Delete { id },
        emits: resource.events(Operation::Delete),
    }
}

/// Stores the writes of one API call on `resource` in one transaction;
/// returns each write's object, in order.
pub(crate) async fn store(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    writes: Vec<ObjectWrite>,
) -> Result<Vec<ObjectRecord>, ServerError> {
    let ctx = WriteContext {
        company: caller.company(),
        now_ms: state.clock.now_ms(),
        request_id: caller.request_id(),
    };
    state
        .store
        .write_objects(ctx, writes)
        .await
        .map_err(|error| write_error(resource, error))
}

/// Stores a single write; returns its object.
pub(crate) async fn store_one(
    state: &AppState,
    caller: &Caller,
    resource: &Resource,
    write: ObjectWrite,
) -> Result<ObjectRecord, ServerError> {
    store(state, caller, resource, vec![write])
        .await?
        .pop()
        .ok_or_else(|| {
            ServerError::Store(StoreError::Backend(
                "the store returned no object for a write".to_owned(),
            ))
        })
}

/// Splits the new items of the nested list fields off `values`, each with
/// its place in its list.
fn fields(resource: &'static Resource, mut values: Map<String, Value>) -> Fields {
    let mut items = Vec::new();
    for (field, value) in &mut values {
        let (Some(back), Some(target), Value::Array(list)) =
            (resource.nested(field), resource.target_of(field), value)
        else {
            continue;
        };
        for (index, item) in std::mem::take(list).into_iter().enumerate() {
            match (is_new_item(resource, field, &item), item) {
                (true, Value::Object(body)) => items.push(NewItem {
                    resource: target,
                    field: field.clone(),
                    index,
                    back,
                    body,
                }),
                (_, kept) => list.push(kept),
            }
        }
    }
    Fields { values, items }
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
        StoreError::Unavailable(_) | StoreError::Backend(_) | StoreError::Unreadable { .. } => {
            ServerError::Store(error)
        }
    }
}
