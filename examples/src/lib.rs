//! Runnable programs and end-to-end tests for tripletex-webhooks.
//!
//! Each program in this folder runs with `cargo run -p examples --example NAME`:
//!
//! - `decode_envelope`: verify an HMAC signature and decode a webhook body into
//!   its typed event.
