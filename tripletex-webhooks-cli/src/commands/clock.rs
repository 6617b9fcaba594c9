//! `clock [advance DURATION]`.

use crate::cli::ClockCommand;
use tripletex_webhooks_client::types::emulator::EmulatorClock;

use crate::emulator::Emulator;
use crate::error::{CliError, exit};
use crate::output::Output;

/// Reads or advances the server clock.
pub(crate) async fn run(
    emulator: &Emulator,
    action: Option<&ClockCommand>,
    output: Output,
) -> Result<u8, CliError> {
    let state = match action {
        None => emulator.clock().await?,
        Some(ClockCommand::Advance { duration }) => emulator.advance(*duration).await?,
    };
    if output.is_json() {
        output.json(&state)?;
    } else {
        output.line(&describe(&state))?;
    }
    Ok(exit::OK)
}

fn describe(state: &EmulatorClock) -> String {
    let offset = std::time::Duration::from_millis(state.offset_ms.unsigned_abs());
    let sign = if state.offset_ms < 0 { "-" } else { "+" };
    format!(
        "server time {} ({sign}{} from the real time)",
        state.now,
        humantime::format_duration(offset)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_offset_reads_as_a_duration() {
        let state = super::EmulatorClock {
            now: "2026-01-01T01:00:00Z".to_owned(),
            now_ms: 0,
            offset_ms: 3_600_000,
        };
        assert_eq!(
            super::describe(&state),
            "server time 2026-01-01T01:00:00Z (+1h from the real time)"
        );
    }
}
