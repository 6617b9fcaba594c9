//! The server binary as a child process, for tests that kill it.

use std::process::ExitStatus;
use std::time::Duration;

use test_support::process::{Process, emulator_address};
use tokio::process::Command;

/// A server binary on a loopback port of its own choosing, kept across
/// restarts; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    port: u16,
    employee_token: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    process: Option<Process>,
}

impl ServerProcess {
    /// Starts the binary on `database` for `employee_token`, with retries
    /// every second and any `extra` arguments, on an ephemeral port (bound by
    /// the server itself, read from its start-up line).
    pub async fn start(database: &str, employee_token: &str, extra: &[&str]) -> Self {
        Self::start_with_env(database, employee_token, extra, &[]).await
    }

    /// [`start`](Self::start) with these environment variables set for the process.
    pub async fn start_with_env(
        database: &str,
        employee_token: &str,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let mut args: Vec<String> = [
            "--database",
            database,
            "--employee-token",
            employee_token,
            "--retry-schedule",
            "1s,1s,1s,1s,1s,1s,1s,1s",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra.iter().map(ToString::to_string));
        let process = spawn(&args, &envs, "127.0.0.1:0");
        let port = process
            .wait_for_line("the address it listens on", |line| {
                emulator_address(line).map(|addr| addr.port())
            })
            .await;
        Self {
            port,
            employee_token: employee_token.to_owned(),
            args,
            envs,
            process: Some(process),
        }
    }

    /// Starts the binary again (after [`kill`](Self::kill)) on the same port.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "the server is still running");
        self.process = Some(spawn(
            &self.args,
            &self.envs,
            &format!("127.0.0.1:{}", self.port),
        ));
    }

    /// Waits for a line of its output that `find` finds something in.
    pub async fn wait_for_line<T>(&self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        self.process
            .as_ref()
            .expect("the server is running")
            .wait_for_line(what, find)
            .await
    }

    /// SIGKILL, and waits for the process to end.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// SIGTERM (a graceful shutdown); the exit status.
    pub async fn terminate(&mut self) -> ExitStatus {
        let mut process = self.process.take().expect("the server is running");
        process.terminate().await
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.process
            .as_ref()
            .and_then(Process::id)
            .expect("the server is running")
    }

    /// The API's base URL, `http://127.0.0.1:PORT/v2`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    /// A new session token for company 0 (consumer token
    /// `local-consumer-token`, the employee token it was started with).
    pub async fn session_token(&self, http: &reqwest::Client) -> String {
        let url = format!(
            "{}/token/session/:create?consumerToken=local-consumer-token&employeeToken={}&expirationDate=2099-01-01",
            self.base(),
            self.employee_token
        );
        let response = http.put(url).send().await.expect("session request");
        assert_eq!(response.status(), 200, "session created");
        let session: serde_json::Value = response.json().await.expect("session JSON");
        session["value"]["token"]
            .as_str()
            .expect("a token in the session")
            .to_owned()
    }

    /// Waits (bounded by `within`) until `GET /event` answers 2xx.
    pub async fn wait_until_up(&self, http: &reqwest::Client, within: Duration) {
        let url = format!("{}/event", self.base());
        test_support::eventually_within(
            within,
            &format!("the server on port {}", self.port),
            || async {
                http.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                    .then_some(())
            },
        )
        .await;
    }
}

fn spawn(args: &[String], envs: &[(String, String)], listen: &str) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tripletex-webhooks-server"));
    command
        .args(args)
        .args(["--listen", listen])
        .env("RUST_LOG", "warn")
        .envs(envs.iter().map(|(name, value)| (name, value)));
    Process::spawn("the server binary", command)
}
