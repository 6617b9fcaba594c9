//! Shared pieces of the tripletex-webhooks benchmark suite.
//!
//! The suite itself is the `bench` binary of this package
//! (`cargo run --release -p bench -- all`); this library holds what the
//! binary and the criterion benches (`cargo bench -p bench`) both need: the
//! payloads they measure with, and the receiver part's routes.

pub mod fixtures;
pub mod receiver_routes;
