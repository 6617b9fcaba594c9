//! The client against wiremock: each call's request and decoding, every error
//! kind, retries, session tokens, paging and sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "wiremock/auth.rs"]
mod auth;
#[path = "wiremock/errors.rs"]
mod errors;
#[path = "wiremock/events.rs"]
mod events;
#[path = "wiremock/objects.rs"]
mod objects;
#[path = "wiremock/retries.rs"]
mod retries;
#[path = "wiremock/subscriptions.rs"]
mod subscriptions;
#[path = "wiremock/sync.rs"]
mod sync;
