//! The HTTP API, one module per resource.

pub(crate) mod bulk;
pub(crate) mod emulator;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod resources;
pub(crate) mod stream;
pub(crate) mod subscriptions;
pub(crate) mod tokens;
pub(crate) mod writes;
