//! The mirror's errors.

/// Everything that can go wrong in a mirror, with what it was doing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The builder was missing something or given something invalid.
    #[error("invalid mirror configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("mirror store: {context}")]
    Store {
        /// What the store was doing.
        context: &'static str,
        /// The database error.
        #[source]
        source: sqlx::Error,
    },
    /// A stored or received object was not the JSON expected.
    #[error("mirror data: {context}")]
    Data {
        /// What was being decoded.
        context: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A Tripletex API call failed.
    #[error("Tripletex API: {context}")]
    Api {
        /// The call.
        context: String,
        /// The client's error.
        #[source]
        source: tripletex_webhooks_client::Error,
    },
    /// The receiver's configuration was refused.
    #[error("webhook receiver configuration")]
    Receiver(#[source] tripletex_webhooks_receiver::ConfigError),
}

impl MirrorError {
    pub(crate) fn store(context: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Store { context, source }
    }

    pub(crate) fn api(
        context: impl Into<String>,
    ) -> impl FnOnce(tripletex_webhooks_client::Error) -> Self {
        let context = context.into();
        move |source| Self::Api { context, source }
    }
}

/// A `Result` with [`MirrorError`].
pub type Result<T, E = MirrorError> = std::result::Result<T, E>;
