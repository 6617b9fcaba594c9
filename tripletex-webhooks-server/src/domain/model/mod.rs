//! The official models of the hosted resources, as data: one table
//! (`data/tripletex-models.json`, made from Tripletex's OpenAPI document by
//! `data/make_models.py`) decides every resource's fields, their types and
//! defaults, which are read-only, what they reference, the operations the
//! document has and the meaning of each search parameter.
//!
//! - [`data`]: the committed data, decoded once.
//! - [`field_type`]: what a property holds.
//! - [`complete`]: an object's fields in Tripletex's default shape.
//! - [`derived`]: read-only fields computed from the others.
//! - [`check`]: a request body against the model (mapping errors).

pub(crate) mod check;
pub(crate) mod complete;
pub(crate) mod data;
mod derived;
pub(crate) mod field_type;

pub(crate) use complete::complete;
pub(crate) use data::{FilterKind, data};
pub(crate) use field_type::{FieldType, path_of, property};
