//! A self-contained Tripletex webhook provider: the API2 surface integrations
//! use (session tokens, `/event`, `/event/subscription`, object endpoints that
//! emit events) on embedded SQLite or on PostgreSQL (which several server
//! processes can share), with an emulator API for tests.
//!
//! The database is chosen by [`ServerConfig::database_url`]: `sqlite://FILE`,
//! `sqlite::memory:` or `postgres://…`.
//!
//! Run it with `cargo run --release -p tripletex-webhooks-server`, or start it
//! in-process from a test:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tripletex_webhooks_server::{RunningServer, ServerConfig};
//!
//! let server = RunningServer::start(ServerConfig::for_tests()).await?;
//! let token = server.create_session_token(0).await?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod clock;
mod config;
mod delivery;
mod digest;
mod domain;
mod http;
mod live;
mod redact;
mod server;
mod store;

pub use clock::Clock;
pub use config::{Durability, DurationList, RateLimit, ServerConfig};
pub use server::{EmulatorHandleError, RunningServer, StartError};
pub use store::{BodyError, StoreError};
