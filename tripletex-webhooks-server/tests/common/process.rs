//! The server binary as a child process, for tests that kill it.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// A server binary on its own loopback port; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts the binary on `database` for `employee_token`, with retries
    /// every second and any `extra` arguments.
    pub fn start(database: &str, employee_token: &str, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args: Vec<String> = [
            "--listen",
            &format!("127.0.0.1:{port}"),
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
        let mut server = Self {
            port,
            args,
            child: None,
        };
        server.restart();
        server
    }

    /// Starts the binary again (after [`kill`](Self::kill)) on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let child = Command::new(env!("CARGO_BIN_EXE_tripletex-webhooks-server"))
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        self.child = Some(child);
    }

    /// SIGKILL, and waits for the process to end.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
        }
    }

    /// SIGTERM (a graceful shutdown); the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }

    /// The API's base URL, `http://127.0.0.1:PORT/v2`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    /// Waits (bounded by `within`) until `GET /event` answers 2xx.
    pub async fn wait_until_up(&self, http: &reqwest::Client, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if http
                .get(format!("{}/event", self.base()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server on port {} did not come up",
                self.port
            );
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
