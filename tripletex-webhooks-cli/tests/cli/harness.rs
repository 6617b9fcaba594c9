//! Running the tool and the server binary.

use std::collections::BTreeMap;
use std::process::Stdio;

use serde_json::Value;
use test_support::WITHIN;
use test_support::binary::server_binary;
use test_support::process::{Process, emulator_address, without_developer_settings};
use tokio::process::Command;

/// The tool's binary.
pub(crate) const CLI: &str = env!("CARGO_BIN_EXE_tripletex-webhooks");

/// What a run of the tool did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output otherwise.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; the run: {self:#?}");
        self
    }

    /// Asserts success.
    #[track_caller]
    pub(crate) fn ok(&self) -> &Self {
        self.expect_code(0)
    }

    /// Stdout as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Stdout and stderr together.
    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts that none of `secrets` was printed.
    #[track_caller]
    pub(crate) fn never_prints(&self, secrets: &[&str]) -> &Self {
        for secret in secrets {
            assert!(
                !self.all().contains(secret),
                "{secret:?} was printed: {self:#?}"
            );
        }
        self
    }

    /// Asserts that stderr is one line (an error message) and returns it.
    #[track_caller]
    pub(crate) fn one_line_error(&self) -> &str {
        let line = self.stderr.trim_end_matches('\n');
        assert!(
            !line.is_empty() && !line.contains('\n'),
            "not one line on stderr: {self:#?}"
        );
        assert!(
            !line.contains("panicked") && !line.contains("backtrace"),
            "{self:#?}"
        );
        line
    }
}

/// A command line for the tool, with a clean environment.
#[derive(Clone)]
pub(crate) struct Cli {
    base_url: String,
    env: BTreeMap<String, String>,
    stdin: Option<Vec<u8>>,
}

impl Cli {
    /// The tool pointed at `base_url`.
    pub(crate) fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            env: BTreeMap::new(),
            stdin: None,
        }
    }

    /// Sets an environment variable for the runs.
    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Feeds `bytes` on stdin.
    pub(crate) fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// The command for `args`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .env("TRIPLETEX_BASE_URL", &self.base_url)
            .env_remove("NO_COLOR")
            .envs(&self.env)
            .args(args);
        without_developer_settings(&mut command);
        command
    }

    /// Runs the tool with its stdout and stderr on a terminal (a pty made by
    /// util-linux's `script`, both streams in `stdout`), or `None` with a
    /// printed reason where `script` is missing.
    pub(crate) async fn run_on_terminal(&self, args: &[&str]) -> Option<Run> {
        let found = std::process::Command::new("script")
            .arg("--version")
            .output();
        if !found.is_ok_and(|output| output.status.success()) {
            eprintln!("SKIPPED a terminal run: util-linux `script` is not installed");
            return None;
        }
        let quote = |arg: &str| format!("'{}'", arg.replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(CLI)
            .chain(args.iter().copied())
            .map(quote)
            .collect();
        let terminal = self.command(&[]);
        let mut command = Command::new("script");
        command.args(["-qec", &line.join(" "), "/dev/null"]);
        for (name, value) in terminal.as_std().get_envs() {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        Some(self.finish(command, args).await)
    }

    /// Starts the tool and leaves it running (for `--follow`); killed when dropped.
    pub(crate) fn spawn(&self, args: &[&str]) -> Process {
        Process::spawn("tripletex-webhooks", self.command(args))
    }

    /// Runs the tool to its end (bounded by [`WITHIN`]).
    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        let command = self.command(args);
        self.finish(command, args).await
    }

    async fn finish(&self, mut command: Command, args: &[&str]) -> Run {
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the tool starts");
        if let Some(bytes) = &self.stdin {
            use tokio::io::AsyncWriteExt as _;
            let mut stdin = child.stdin.take().expect("piped stdin");
            // The tool may answer before it reads its input (a malformed
            // signature is refused first): a closed pipe is its choice.
            if let Err(e) = stdin.write_all(bytes).await {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe,
                    "stdin takes the body: {e}"
                );
            }
            drop(stdin);
        }
        let output = tokio::time::timeout(WITHIN, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("tripletex-webhooks {args:?} did not end within {WITHIN:?}"))
            .expect("the tool runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The bundled server binary in a child process, killed when dropped.
pub(crate) struct Server {
    pub(crate) base_url: String,
    _process: Process,
}

impl Server {
    /// The server on an ephemeral port and an in-memory database.
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// The same, with more flags.
    pub(crate) async fn start_with(flags: &[&str]) -> Self {
        let mut command = Command::new(server_binary());
        command
            .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
            .args(flags)
            .env("RUST_LOG", "warn");
        let process = Process::spawn("the server binary", command);
        let addr = process.wait_for_line("its address", emulator_address).await;
        Self {
            base_url: format!("http://{addr}/v2"),
            _process: process,
        }
    }

    /// The tool pointed at this server (with its built-in local tokens).
    pub(crate) fn cli(&self) -> Cli {
        Cli::new(&self.base_url)
    }
}
