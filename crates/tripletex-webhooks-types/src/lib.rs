//! The wire vocabulary of Tripletex webhooks.
#![doc = "TODO crate docs"]

mod wire_enum;
mod secret_serde;

pub mod change;
pub mod fields;
pub mod models;

pub use change::{Change, ChangeType};
