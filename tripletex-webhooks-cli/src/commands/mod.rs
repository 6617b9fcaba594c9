//! One module per command; each prints its result and returns the exit code.

mod apply;
mod clock;
mod deliveries;
mod events;
mod follow;
mod inbox;
mod redeliver;
mod subscriptions;
mod trigger;
mod verify;

use clap::CommandFactory;

use crate::cli::{Cli, Command, SubscriptionsCommand};
use crate::emulator::Emulator;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::settings::{Settings, resolve_base_url};

/// Runs the command and returns the exit code of a run that did not fail.
pub(crate) async fn run(cli: Cli, output: Output) -> Result<u8, CliError> {
    let settings = || Settings::new(&cli.base_url, cli.company_id, cli.timeout);
    // Refuses Tripletex itself before asking for credentials.
    let emulator = || {
        crate::emulator::refuse_tripletex(&resolve_base_url(&cli.base_url)?)?;
        Emulator::new(&settings()?)
    };
    match cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(shell, &mut command, "tripletex-webhooks", &mut stdout);
            Ok(exit::OK)
        }
        Command::Verify(ref args) => verify::run(args, output).await,
        Command::Inbox(ref command) => inbox::run(command, cli.timeout, output).await,
        Command::Events { ref event } => {
            events::run(&settings()?.client()?, event.as_deref(), output).await
        }
        Command::Subscriptions(ref command) => {
            let client = settings()?.client()?;
            match command {
                SubscriptionsCommand::Apply(args) => apply::run(&client, args, output).await,
                other => subscriptions::run(&client, other, output).await,
            }
        }
        Command::Trigger(ref args) => trigger::run(&emulator()?, args, output).await,
        Command::Deliveries(ref args) => deliveries::run(&emulator()?, args, output).await,
        Command::Redeliver(ref args) => redeliver::run(&emulator()?, args, output).await,
        Command::Clock { ref action } => clock::run(&emulator()?, action.as_ref(), output).await,
    }
}

/// A Unix time in ms as RFC 3339 (UTC, seconds), or the number if out of range.
pub(crate) fn format_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|at| at.replace_nanosecond(0).ok())
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(super::format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format_ms(1_700_000_000_999), "2023-11-14T22:13:20Z");
        assert_eq!(super::format_ms(i64::MAX), i64::MAX.to_string());
    }
}
