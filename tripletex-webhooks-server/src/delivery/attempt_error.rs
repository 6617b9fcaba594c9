//! Why an attempt failed. The delivery log stores and shows its `Display`.

use std::error::Error as StdError;

use reqwest::StatusCode;

use super::target_policy::BlockedTarget;

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AttemptError {
    /// The target may not be reached (`--block-private-targets`).
    #[error("{0}")]
    TargetBlocked(String),
    /// The stored target URL, credentials or headers make no valid request.
    #[error("{0}")]
    InvalidRequest(String),
    /// The payload could not be rendered from the stored object.
    #[error("rendering the payload: {0}")]
    Render(String),
    /// No connection: refused, unresolvable, reset.
    #[error("connection failed{0}")]
    Connect(Causes),
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS handshake failed{0}")]
    Tls(Causes),
    /// No complete answer within the attempt timeout.
    #[error("timed out{0}")]
    Timeout(Causes),
    /// The request failed after connecting (the connection closed, …).
    #[error("request failed{0}")]
    Request(Causes),
    /// A redirect: not followed, so not a delivery.
    #[error("HTTP {0}: redirects are not followed")]
    Redirect(StatusCode),
    /// Any other status that is not 2xx.
    #[error("HTTP {0}")]
    Status(StatusCode),
}

impl AttemptError {
    /// Classifies a failed request by its error chain.
    pub(crate) fn from_request(error: &reqwest::Error) -> Self {
        let causes = Causes::of(error);

        if let Some(blocked) = find::<BlockedTarget>(error) {
            Self::TargetBlocked(blocked.to_string())
        } else if error.is_timeout() {
            Self::Timeout(causes)
        } else if find::<rustls::Error>(error).is_some() {
            Self::Tls(causes)
        } else if error.is_connect() {
            Self::Connect(causes)
        } else {
            Self::Request(causes)
        }
    }

    /// The answer's status as a failure, or `None` for a 2xx.
    pub(crate) fn from_status(status: StatusCode) -> Option<Self> {
        if status.is_success() {
            None
        } else if status.is_redirection() {
            Some(Self::Redirect(status))
        } else {
            Some(Self::Status(status))
        }
    }
}

/// An error's sources in one line (`": a: b"`), without the request's URL,
/// which may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Causes(String);

impl Causes {
    fn of(error: &reqwest::Error) -> Self {
        let mut line = String::new();
        let mut source = error.source();
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        Self(line)
    }
}

impl std::fmt::Display for Causes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first error of type `E` in `error`'s chain, looking inside I/O errors
/// too (TLS and resolver failures travel wrapped in them, even twice).
fn find<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = match error.downcast_ref::<std::io::Error>() {
            // An I/O error's `source` skips the error it wraps: step into it.
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_the_log_shows_them() {
        assert_eq!(AttemptError::from_status(StatusCode::NO_CONTENT), None);
        assert_eq!(
            AttemptError::from_status(StatusCode::FOUND)
                .unwrap()
                .to_string(),
            "HTTP 302 Found: redirects are not followed"
        );
        assert_eq!(
            AttemptError::from_status(StatusCode::SERVICE_UNAVAILABLE)
                .unwrap()
                .to_string(),
            "HTTP 503 Service Unavailable"
        );
    }

    #[test]
    fn errors_are_found_inside_io_errors() {
        let blocked = BlockedTarget("target 10.0.0.1 is private".to_owned());
        let io = std::io::Error::other(blocked.clone());
        assert_eq!(find::<BlockedTarget>(&io), Some(&blocked));
        let twice = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            blocked.clone(),
        ));
        assert_eq!(find::<BlockedTarget>(&twice), Some(&blocked));
        let unrelated = std::io::Error::other("refused");
        assert_eq!(find::<BlockedTarget>(&unrelated), None);
    }
}
