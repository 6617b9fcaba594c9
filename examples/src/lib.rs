//! Runnable programs and end-to-end tests for tripletex-webhooks.
//!
//! Each program in this folder runs with `cargo run -p examples --example NAME`:
//!
//! - `quickstart`: the whole loop in one process, with no set-up: the bundled
//!   server in-process, an axum receiver behind the layer, subscriptions made
//!   with the client, and a product created, updated twice and deleted; each
//!   typed event is printed as the receiver handles it.
//! - `decode_envelope`: verify an HMAC signature and decode a webhook body into
//!   its typed event.
//! - `subscribe`: reconcile `product.*` subscriptions against a Tripletex (by
//!   default the bundled server) and print them as a table.
//! - `axum_receiver`: an axum app behind `TripletexWebhookLayer` (header auth +
//!   HMAC) that prints each typed event once.
//!
//! `tests/end_to_end` runs the three crates together, against the server
//! in-process and as the built binary: every catalogue event, each callback
//! authentication mechanism, an outage, a disabled subscription, and the
//! guide's sync recipe (`cargo test -p examples --test end_to_end`).

/// The README's code samples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The types crate's README samples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../tripletex-webhooks-types/README.md")]
pub struct TypesReadmeDoctests;

/// The client crate's README samples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../tripletex-webhooks-client/README.md")]
pub struct ClientReadmeDoctests;

/// The receiver crate's README samples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../tripletex-webhooks-receiver/README.md")]
pub struct ReceiverReadmeDoctests;

/// The server crate's README samples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../tripletex-webhooks-server/README.md")]
pub struct ServerReadmeDoctests;
