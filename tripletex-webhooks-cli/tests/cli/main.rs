//! The built `tripletex-webhooks` binary, run as a child process against the
//! bundled server binary (also a child process) for every command, and
//! against wiremock for what only Tripletex does (rate limits, 401).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod harness;

mod apply;
mod emulator;
mod inbox;
mod output;
mod subscriptions;
mod tripletex;
mod verify;
