//! Runnable programs and end-to-end tests for tripletex-webhooks.
//!
//! Each program in this folder runs with `cargo run -p examples --example NAME`:
//!
//! - `decode_envelope`: verify an HMAC signature and decode a webhook body into
//!   its typed event.
//! - `subscribe`: reconcile `product.*` subscriptions against a Tripletex (by
//!   default the bundled server) and print them as a table.
//! - `axum_receiver`: an axum app behind `TripletexWebhookLayer` (header auth +
//!   HMAC) that prints each typed event once.

/// The README's code samples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
