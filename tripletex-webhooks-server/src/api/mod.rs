//! The HTTP API, one module per resource.

pub mod emulator;
pub mod events;
pub mod extract;
pub mod resources;
pub mod subscriptions;
pub mod tokens;
