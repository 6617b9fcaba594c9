//! Authentication: a fixed session token, or one created and renewed from
//! the consumer and employee tokens.

pub(crate) mod session;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Result;
use crate::transport::Transport;

pub(crate) use session::{Clock, SessionManager, SessionSettings};

/// Where the session token of each request comes from.
pub(crate) enum Auth {
    /// A session token the caller created; never renewed.
    Fixed(SecretString),
    /// Created with `PUT /token/session/:create` and renewed before it expires.
    Managed(SessionManager),
}

impl Auth {
    /// The session token to send now.
    pub(crate) async fn token(&self, transport: &Transport) -> Result<SecretString> {
        match self {
            Self::Fixed(token) => Ok(token.clone()),
            Self::Managed(manager) => manager.token(transport).await,
        }
    }

    /// Whether a refused token can be replaced by a new one.
    pub(crate) fn renews(&self) -> bool {
        matches!(self, Self::Managed(_))
    }

    /// Forgets `token` if it is the current session (Tripletex refused it).
    pub(crate) async fn invalidate(&self, token: &SecretString) {
        if let Self::Managed(manager) = self {
            manager.invalidate(token).await;
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(_) => f.write_str("Auth::Fixed(..)"),
            Self::Managed(manager) => f.debug_tuple("Auth::Managed").field(manager).finish(),
        }
    }
}

/// Whether two secrets are equal.
pub(crate) fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}
