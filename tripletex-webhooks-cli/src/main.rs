//! `tripletex-webhooks`: Tripletex webhook subscriptions as code, and the
//! bundled server's emulator, from the terminal.
//!
//! Every command prints tables for people or, with `--json`, JSON for
//! scripts; errors are one line on stderr (a JSON object with `--json`), and
//! the exit code says what happened (see [`error::exit`] and the README).

mod cli;
mod commands;
mod desired;
mod emulator;
mod error;
mod output;
mod progress;
mod settings;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::{CliError, exit};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    let output = Output::detect(json, cli.color);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&CliError::Output(error), json),
    };
    match runtime.block_on(commands::run(cli, output)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => report(&error, json),
    }
}

/// Prints the error as one line on stderr, and returns its exit code.
fn report(error: &CliError, json: bool) -> ExitCode {
    if error.is_broken_pipe() {
        // The reader went away (`| head`): nothing to say, and nobody to say it to.
        return ExitCode::from(exit::OK);
    }
    let message = error.one_line();
    if json {
        let value = serde_json::json!({"error": {
            "kind": error.kind(),
            "message": message,
            "requestId": error.request_id(),
            "exitCode": error.exit_code(),
        }});
        stderr(&value.to_string());
    } else {
        stderr(&format!("error: {message}"));
    }
    error.exit()
}

/// A line on stderr; a closed stderr is ignored (never a panic, unlike `eprintln!`).
pub(crate) fn stderr(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
