//! The benchmark suite: every crate of tripletex-webhooks against the ceiling
//! of this machine, in one run, over loopback.
//!
//! ```text
//! cargo run --release -p bench -- all            # every part; writes the table to BENCHMARKS.md
//! cargo run --release -p bench -- all --quick    # the same, short
//! cargo run --release -p bench -- receiver       # one part: receiver, inbox, delivery, isolation,
//!                                                # backlog, dedup, decode, wal, mirror or load (add --quick)
//! ```
//!
//! `all` prints one table with every figure and its target and replaces the
//! marked section of `BENCHMARKS.md` with it (`--no-write` only prints); a
//! single part only prints, unless `--write` is given. Every loop is bounded
//! in count and time, every server listens on 127.0.0.1, and everything stops
//! by itself.

mod api;
mod child;
mod noise;
mod parts;
mod report;
mod sink;
mod stats;

use std::process::ExitCode;
use std::time::Instant;

use report::Row;

/// What can go wrong in a benchmark: anything, reported and fatal.
type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The result of a benchmark step.
type Res<T> = Result<T, BoxError>;

/// The parts, in the order `all` runs them.
const PARTS: [&str; 10] = [
    "decode",
    "dedup",
    "receiver",
    "inbox",
    "delivery",
    "isolation",
    "backlog",
    "wal",
    "mirror",
    "load",
];

const USAGE: &str = "usage: bench <all|receiver|inbox|delivery|isolation|backlog|dedup|decode|wal|mirror|load> [--quick] [--write|--no-write]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(child::SERVE_ARG) {
        return child::serve_main(args.get(1).map(String::as_str));
    }
    if args.first().map(String::as_str) == Some(parts::load::receiver::RECEIVE_ARG) {
        return parts::load::receiver::receive_main();
    }
    if args.first().map(String::as_str) == Some(parts::dedup::MEMORY_ARG) {
        return parts::dedup::memory_main();
    }
    let quick = args.iter().any(|a| a == "--quick");
    let positional: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let unknown_flag = args.iter().find(|a| {
        a.starts_with("--") && !["--quick", "--write", "--no-write"].contains(&a.as_str())
    });
    let known = PARTS.iter().copied().chain(["all"]);
    let part = match (positional.as_slice(), unknown_flag) {
        ([name], None) => known.into_iter().find(|part| part == name),
        _ => None,
    };
    let Some(part) = part else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let write = if part == "all" {
        !args.iter().any(|a| a == "--no-write")
    } else {
        args.iter().any(|a| a == "--write")
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let parts: Vec<&str> = if part == "all" {
        PARTS.to_vec()
    } else {
        vec![part]
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut failed = false;
    for part in parts {
        eprintln!("== {part}{}", if quick { " (quick)" } else { "" });
        match runtime.block_on(parts::run(part, quick)) {
            Ok(part_rows) => {
                for row in &part_rows {
                    eprintln!("   {}", row.line());
                }
                rows.extend(part_rows);
            }
            Err(error) => {
                eprintln!("bench: {part} failed: {error}");
                rows.push(Row::failed(part, &error.to_string()));
                failed = true;
            }
        }
    }
    // Whatever a part left running (idle connections, aborted tasks) ends here.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    let command = format!(
        "cargo run --release -p bench -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let section = report::section(&rows, &command, quick, started.elapsed());
    println!("{section}");
    if write {
        match report::write_benchmarks_md(&section) {
            Ok(path) => eprintln!("wrote {}", path.display()),
            Err(error) => {
                eprintln!("bench: cannot write BENCHMARKS.md: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
