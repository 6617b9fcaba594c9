//! The HTTP layer: the router and its middleware, authentication, rate
//! limits, the OpenAPI document, the API handlers, the dashboard, and how
//! errors become Tripletex-shaped responses.

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod conn;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod middleware;
pub(crate) mod openapi;
pub(crate) mod rate_limit;
pub(crate) mod router;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod ui;
