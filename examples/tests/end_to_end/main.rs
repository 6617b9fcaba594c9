//! End to end: an integration subscribes with the client, the bundled server
//! delivers, an axum app behind the receiver layer handles each change once.
//!
//! Every scenario runs twice: against the server in-process
//! (`RunningServer`, in-memory SQLite) and against the built
//! `tripletex-webhooks-server` binary in a child process (SQLite file), both
//! on ephemeral loopback ports (see `test_support::binary` for how the binary is found).
//! Time-based behaviour (retries, disabling) is driven through the emulator's
//! clock; waits are bounded polls or watch channels, never fixed sleeps.
//!
//! - `every_event`: each of the 35 catalogue events reaches a subscriber,
//!   typed, with the subscription's `fields` applied; deletes carry only the id.
//! - `auth`: header, Basic (`user:password@` in `targetUrl`) and query-token
//!   authentication, each with HMAC; a receiver with another secret handles
//!   nothing, and the server logs its 401 attempts.
//! - `outage`: the receiver is down while events pile up; when it is back,
//!   the clock makes the retries fire, each object's changes are handled once
//!   and in version order, and redeliveries are dropped as repeats.
//! - `disable`: a week of failures disables the subscription; the client sees
//!   `DISABLED_TOO_MANY_ERRORS`, re-enables it, and new events flow.
//! - `sync_recipe`: the guide's recipe (subscribe, sync everything with the
//!   client's paged stream, apply webhooks) while other users change products;
//!   the local copy ends equal to the server's objects.
// One test crate: `pub` marks what the scenario modules share.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

/// The two tests of a scenario: `in_process` and `binary`, each running
/// `run(Backend)`.
macro_rules! on_both_backends {
    ($run:path) => {
        #[tokio::test]
        async fn in_process() {
            $run($crate::tripletex::Backend::InProcess).await;
        }

        #[tokio::test]
        async fn binary() {
            $run($crate::tripletex::Backend::Binary).await;
        }
    };
}

mod app;
mod tripletex;

mod auth;
mod disable;
mod every_event;
mod outage;
mod readme_examples;
mod sync_recipe;

pub use test_support::{WITHIN, eventually};
