//! The object resources the server hosts (`product`, `order`, `ledger/account`, ...):
//! one generic engine, configured by one row per resource in [`RESOURCES`].
//!
//! A [`Resource`] says where it lives, which subject its events have, which
//! official model it is, which events each write emits, and what a realistic
//! object looks like (for `GET /event/{eventType}` examples). Everything about
//! its fields (types, defaults, required ones, references, search
//! parameters) comes from the model data, [`crate::domain::model`].
//!
//! - [`validate`]: turning a request body into what is stored.
//! - [`render`]: shaping a stored object for the wire with a `fields` filter,
//!   expanding references to hosted objects; the one function both responses
//!   and webhook payloads go through.

pub(crate) mod examples;
mod table;

pub(crate) mod render;
pub(crate) mod validate;

use serde_json::Value;
use tripletex_webhooks_types::{EventType, Subject, Verb};

use crate::domain::model;
use crate::domain::model::data::ResourceData;

pub(crate) use render::shape;
pub(crate) use table::RESOURCES;

/// One hosted resource: a row of configuration for the generic engine.
#[derive(Debug)]
pub(crate) struct Resource {
    /// The path under `/v2`, e.g. `product` or `ledger/account`.
    pub(crate) path: &'static str,
    /// The subject of its events, e.g. [`Subject::Account`] for `ledger/account`.
    pub(crate) subject: Subject,
    /// The payload model's name, e.g. `Product`.
    pub(crate) model: &'static str,
    /// The verbs of the events a create emits.
    pub(crate) on_create: &'static [Verb],
    /// The verbs of the events an update emits.
    pub(crate) on_update: &'static [Verb],
    /// The verbs of the events a delete emits.
    pub(crate) on_delete: &'static [Verb],
    /// A realistic object, for event examples, given the scheme-less URL base.
    pub(crate) example: fn(&str) -> Value,
}

/// A write to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `POST /v2/<path>`.
    Create,
    /// `PUT /v2/<path>/{id}`.
    Update,
    /// `DELETE /v2/<path>/{id}`.
    Delete,
}

impl Resource {
    /// The events a write of this kind emits.
    pub(crate) fn events(&self, operation: Operation) -> Vec<EventType> {
        let verbs = match operation {
            Operation::Create => self.on_create,
            Operation::Update => self.on_update,
            Operation::Delete => self.on_delete,
        };
        verbs
            .iter()
            .map(|verb| EventType::new(self.subject.clone(), verb.clone()))
            .collect()
    }

    /// Every event this resource emits, creates first.
    pub(crate) fn all_events(&self) -> Vec<EventType> {
        [Operation::Create, Operation::Update, Operation::Delete]
            .into_iter()
            .flat_map(|operation| self.events(operation))
            .collect()
    }

    /// The resource path a reference field (single or list) points to.
    pub(crate) fn target_of(&self, field: &str) -> Option<&'static str> {
        let (_, kind) = model::property(self.model, field)?;
        kind.referenced_model().and_then(model::path_of)
    }

    /// Whether the official document has `method` (`get`, `put`,
    /// `delete`) on `/{path}/{id}`.
    pub(crate) fn has_item(&self, method: &str) -> bool {
        self.row()
            .is_some_and(|row| row.item.iter().any(|m| m == method))
    }

    /// Whether the official document has `method` on `/{path}/list`.
    pub(crate) fn has_list(&self, method: &str) -> bool {
        self.row()
            .is_some_and(|row| row.list.iter().any(|m| m == method))
    }

    /// The field of sub-objects created with a new item of list `field`
    /// that points back to this object (`orderLines` → `order`), if new
    /// items of `field` are created with it.
    pub(crate) fn nested(&self, field: &str) -> Option<&'static str> {
        self.row()?.nested.get(field).map(String::as_str)
    }

    fn row(&self) -> Option<&'static ResourceData> {
        model::data().resources.get(self.path)
    }

    /// The fields a create must carry, non-null (Tripletex's Swagger 2
    /// `required` arrays).
    pub(crate) fn required(&self) -> &'static [String] {
        model::data()
            .required
            .get(self.model)
            .map_or(&[], Vec::as_slice)
    }
}

/// The hosted resource at a path, e.g. `ledger/account`.
pub(crate) fn by_path(path: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|resource| resource.path == path)
}

/// The hosted resource whose events have this subject.
pub(crate) fn by_subject(subject: &Subject) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|resource| &resource.subject == subject)
}
