//! Why a request was refused, and how that becomes a response.

mod rejection;

pub use rejection::{BadRequest, MissingWebhook, Rejection};

/// The error type handlers and stores may return: any error that can be sent
/// between threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
