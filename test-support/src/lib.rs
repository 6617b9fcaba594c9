//! The test kit of the tripletex-webhooks workspace, shared by every crate's
//! tests (unpublished): one way to wait, to find the workspace's programs
//! (the server binary, the examples) and run one as a child
//! process (and read the server binary's address), to hold a port that
//! refuses connections, to find the services a test needs, and to read Tripletex's
//! official OpenAPI data committed in this repository.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use test_support::{eventually, reference};
//!
//! let product = reference::schema("Product");
//! assert_eq!(product["type"], "object");
//! assert!(reference::schema_errors("Product", &serde_json::json!({"name": "Espresso"})).is_empty());
//!
//! let mut polls = 0;
//! let three = eventually("the third poll", || {
//!     polls += 1;
//!     let done = polls == 3;
//!     async move { done.then_some(polls) }
//! })
//! .await;
//! assert_eq!(three, 3);
//! # }
//! ```

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test kit fails the test that uses it by panicking"
)]

pub mod binary;
pub mod net;
pub mod process;
pub mod reference;
pub mod services;
mod wait;

pub use wait::{WITHIN, eventually, eventually_within};
