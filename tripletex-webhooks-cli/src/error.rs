//! The errors of the tool, each with its exit code and a one-line message.

use std::fmt::Write as _;
use std::process::ExitCode;

/// The documented exit codes (see the crate README and `--help`).
pub(crate) mod exit {
    /// Success; `apply --dry-run` found nothing to change.
    pub(crate) const OK: u8 = 0;
    /// A request or an operation failed; `verify` found the callback does not verify.
    pub(crate) const FAILED: u8 = 1;
    /// `apply --dry-run`: something would change (drift).
    pub(crate) const DRIFT: u8 = 2;
    /// The credentials are missing, or Tripletex refused them (401/403).
    pub(crate) const AUTH: u8 = 3;
    /// Still rate limited (429) after the retries.
    pub(crate) const RATE_LIMITED: u8 = 4;
    /// An emulator command against a server without the emulator API (Tripletex itself).
    pub(crate) const NO_EMULATOR: u8 = 5;
    /// Bad arguments, or an input file or environment variable that is missing or invalid.
    pub(crate) const USAGE: u8 = 64;
}

/// Everything that makes a command fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The arguments or an input (file, environment variable) are wrong.
    #[error("{0}")]
    Usage(String),
    /// No credentials in the environment.
    #[error(
        "no credentials: set TRIPLETEX_SESSION_TOKEN, or TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN"
    )]
    NoCredentials,
    /// A call of the Tripletex API failed.
    #[error("{}", describe_client_error(.0))]
    Api(#[from] tripletex_webhooks_client::Error),
    /// The server has no emulator API.
    #[error("{0}")]
    NoEmulator(String),
    /// `deliveries --follow`: the server ended the live stream (it stopped).
    #[error("the server ended the live stream of deliveries")]
    StreamEnded,
    /// `verify`: the callback does not verify.
    #[error("not verified: {0}")]
    NotVerified(String),
    /// `inbox`: the inbox's database failed.
    #[error("{0}")]
    Inbox(#[from] tripletex_webhooks_receiver::inbox::InboxError),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::Api(error) if error.is_builder() || error.is_invalid_input() => exit::USAGE,
            Self::Api(error) if error.is_rate_limited() => exit::RATE_LIMITED,
            Self::NoCredentials => exit::AUTH,
            Self::Api(error) if error.is_auth() => exit::AUTH,
            Self::NoEmulator(_) => exit::NO_EMULATOR,
            Self::Api(_)
            | Self::StreamEnded
            | Self::NotVerified(_)
            | Self::Inbox(_)
            | Self::Output(_) => exit::FAILED,
        }
    }

    /// A short stable name of the kind of error, for `--json`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::NoCredentials => "no_credentials",
            Self::Api(error) if error.is_auth() => "unauthorized",
            Self::Api(error) if error.is_rate_limited() => "rate_limited",
            Self::Api(error) if error.is_not_found() => "not_found",
            Self::Api(_) | Self::StreamEnded => "request_failed",
            Self::NoEmulator(_) => "no_emulator",
            Self::NotVerified(_) => "not_verified",
            Self::Inbox(_) => "inbox",
            Self::Output(_) => "output",
        }
    }

    /// The request id to quote to Tripletex's support, when there is one.
    pub(crate) fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(error) => error.request_id(),
            _ => None,
        }
    }

    /// The message on one line (never a newline, whatever a server answered).
    pub(crate) fn one_line(&self) -> String {
        self.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether stdout was closed by its reader (such as `| head`).
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(error) if error.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The process exit code.
    pub(crate) fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// The client's message, with the request id when the message lacks it, and
/// a hint for refused credentials.
fn describe_client_error(error: &tripletex_webhooks_client::Error) -> String {
    let mut message = error.to_string();
    if let Some(id) = error.request_id() {
        if !message.contains(id) {
            let _ = write!(message, " [request id {id}]");
        }
    }
    if error.is_auth() {
        message.push_str(
            " (check TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN, or TRIPLETEX_SESSION_TOKEN, \
             and that they belong to this environment: prod and test tokens differ)",
        );
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_kind() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), exit::USAGE);
        assert_eq!(CliError::NoCredentials.exit_code(), exit::AUTH);
        assert_eq!(
            CliError::NoEmulator("x".into()).exit_code(),
            exit::NO_EMULATOR
        );
        assert_eq!(CliError::NotVerified("x".into()).exit_code(), exit::FAILED);
    }

    #[test]
    fn messages_are_one_line() {
        let error = CliError::NotVerified("line one\nline two".into());
        assert_eq!(error.one_line(), "not verified: line one line two");
        assert!(!CliError::StreamEnded.is_broken_pipe());
        let pipe = CliError::Output(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(pipe.is_broken_pipe());
    }
}
