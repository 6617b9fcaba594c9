//! The bundled server in a process of its own, so its memory can be read
//! from `/proc/<pid>/status`: the bench binary runs itself with
//! [`SERVE_ARG`] and a SQLite file.

use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tripletex_webhooks_server::{RunningServer, ServerConfig};

use crate::Res;

/// The hidden first argument that makes the binary serve instead of bench.
pub(crate) const SERVE_ARG: &str = "__serve-sqlite";

/// The child's side: serves the database file `path` on 127.0.0.1, prints
/// `READY <base url> <session token>` and stops when its stdin closes.
pub(crate) fn serve_main(path: Option<&str>) -> ExitCode {
    let Some(path) = path else {
        eprintln!("usage: bench {SERVE_ARG} FILE");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench server: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(path: &str) -> Res<()> {
    let mut config = ServerConfig::for_tests();
    config.database_url = format!("sqlite://{path}");
    let server = RunningServer::start(config).await?;
    let token = server.create_session_token(0).await?;
    println!("READY {} {}", server.base_url(), token.expose_secret());
    // Serve until the parent closes stdin (or dies).
    let mut stdin = tokio::io::stdin();
    let mut buf = [0_u8; 64];
    while stdin.read(&mut buf).await? > 0 {}
    server.shutdown().await;
    Ok(())
}

/// The parent's side: a server child process.
pub(crate) struct ChildServer {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    pub(crate) base_url: String,
    pub(crate) token: String,
}

impl ChildServer {
    /// Starts a server on the SQLite file `db` and waits until it is ready.
    pub(crate) async fn start(db: &Path) -> Res<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVE_ARG)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("the server child has no pid")?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or("no stdout from the server child")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .map_err(|_| "the server child did not start within 2 minutes")??
            .ok_or("the server child exited before it was ready")?;
        let mut words = line.split_whitespace();
        let (Some("READY"), Some(base_url), Some(token)) =
            (words.next(), words.next(), words.next())
        else {
            return Err(format!("unexpected line from the server child: {line}").into());
        };
        Ok(Self {
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            child,
            stdin,
            pid,
        })
    }

    /// The child's resident memory (`VmRSS`) and its peak (`VmHWM`), in KiB.
    pub(crate) fn memory_kib(&self) -> Res<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        Ok((
            status_kib(&status, "VmRSS:").ok_or("no VmRSS")?,
            status_kib(&status, "VmHWM:").ok_or("no VmHWM")?,
        ))
    }

    /// Closes its stdin and waits (at most a minute) for it to shut down.
    pub(crate) async fn stop(mut self) -> Res<()> {
        drop(self.stdin.take());
        let Ok(status) = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await
        else {
            self.child.kill().await?;
            return Err("the server child did not stop within a minute".into());
        };
        let status = status?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the server child ended with {status}").into())
        }
    }
}

/// A `Vm*:   1234 kB` line of `/proc/*/status`, in KiB.
pub(crate) fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// This process's resident memory (`VmRSS`), in KiB.
pub(crate) fn own_rss_kib() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status_kib(&status, "VmRSS:").ok_or("no VmRSS")?)
}
