//! The two other processes of the user-shaped load, from the load
//! generator's side: the release server binary on a SQLite file, and the
//! receiver (this binary run with [`RECEIVE_ARG`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::receiver::{RECEIVE_ARG, parse_arrivals};
use crate::Res;

/// The server binary's file name.
const SERVER_BINARY: &str = "tripletex-webhooks-server";
/// The longest a child may take to say where it listens.
const START_WITHIN: Duration = Duration::from_secs(120);

/// `tripletex-webhooks-server` next to this binary (the same profile), built
/// first when it is not there.
pub(crate) async fn server_binary() -> Res<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("the bench binary has no directory")?;
    let binary = dir.join(SERVER_BINARY);
    if binary.exists() {
        return Ok(binary);
    }
    let release = dir.file_name().is_some_and(|name| name == "release");
    eprintln!("   building {SERVER_BINARY} (not found next to the bench binary)");
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build
        .args(["build", "-p", SERVER_BINARY])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        build.arg("--release");
    }
    let status = build.status().await?;
    if !status.success() || !binary.exists() {
        return Err(format!("building {SERVER_BINARY} failed ({status})").into());
    }
    Ok(binary)
}

/// Reads stdout lines until `find` finds something in one; the rest of the
/// output is drained in the background so the child never blocks on it.
async fn first_match<T>(child: &mut Child, what: &str, find: impl Fn(&str) -> Option<T>) -> Res<T> {
    let stdout = child.stdout.take().ok_or("no stdout from the child")?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(START_WITHIN, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(found) = find(&line) {
                return Ok(found);
            }
        }
        Err(crate::BoxError::from(format!(
            "{what} exited before it was ready"
        )))
    })
    .await
    .map_err(|_| format!("{what} did not start within {START_WITHIN:?}"))??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(found)
}

/// The server binary's start-up line: `Tripletex API emulator on http://ADDR/v2 ...`.
fn base_url(line: &str) -> Option<String> {
    let rest = line.strip_prefix("Tripletex API emulator on ")?;
    let base = rest.split_whitespace().next()?;
    base.ends_with("/v2").then(|| base.to_owned())
}

/// The release server binary, as a user starts it, on a SQLite file.
pub(crate) struct ServerProcess {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:PORT/v2`.
    pub(crate) base: String,
}

impl ServerProcess {
    /// Starts `binary` on the SQLite file `db` with the default local
    /// credentials, `extra` flags, and warnings only on its log (as the
    /// server's own process tests run it).
    pub(crate) async fn start(binary: &Path, db: &Path, extra: &[String]) -> Res<Self> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", db.display()))
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("the server process has no pid")?;
        let base = first_match(&mut child, "the server process", base_url).await?;
        Ok(Self { child, pid, base })
    }

    /// A session token for company 0 through the API, as an integration gets one.
    pub(crate) async fn session_token(&self, http: &reqwest::Client) -> Res<String> {
        let url = format!(
            "{}/token/session/:create?consumerToken=local-consumer-token\
             &employeeToken=local-employee-token&expirationDate=2099-01-01",
            self.base
        );
        let session: Value = http
            .put(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(session["value"]["token"]
            .as_str()
            .ok_or_else(|| format!("no token in {session}"))?
            .to_owned())
    }

    /// CPU time the process used so far (user + system).
    pub(crate) fn cpu_time(&self) -> Res<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        cpu_time_of(&stat).ok_or_else(|| format!("cannot read /proc/{}/stat", self.pid).into())
    }

    /// SIGTERM (the graceful shutdown a user's Ctrl-C makes), then waits at
    /// most a minute.
    pub(crate) async fn stop(mut self) -> Res<()> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await?;
        if !sent.success() {
            return Err(format!("kill -TERM {} failed", self.pid).into());
        }
        let Ok(status) = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await
        else {
            self.child.kill().await?;
            return Err("the server process did not stop within a minute".into());
        };
        let status = status?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the server process ended with {status}").into())
        }
    }
}

/// Clock ticks a second in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system time from a `/proc/<pid>/stat` line (fields 14 and 15,
/// counted after the parenthesised command name, which may hold spaces).
fn cpu_time_of(stat: &str) -> Option<Duration> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

/// The receiver process.
pub(crate) struct ReceiverProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub(crate) origin: String,
}

impl ReceiverProcess {
    pub(crate) async fn start() -> Res<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(RECEIVE_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        let origin = first_match(&mut child, "the receiver process", |line| {
            line.strip_prefix("READY ").map(str::to_owned)
        })
        .await?;
        Ok(Self {
            child,
            stdin,
            http: reqwest::Client::new(),
            origin,
        })
    }

    /// Callbacks arrived since the last reset.
    pub(crate) async fn count(&self) -> Res<usize> {
        let text = self
            .http
            .get(format!("{}/count", self.origin))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text.trim().parse()?)
    }

    /// Waits until `n` callbacks arrived (polled every 20 ms), at most `limit`.
    pub(crate) async fn wait_for(&self, n: usize, limit: Duration) -> Res<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.count().await?;
            if arrived >= n {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(
                    format!("only {arrived} of {n} callbacks arrived within {limit:?}").into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every arrival since the last reset: object id, wall-clock microseconds.
    pub(crate) async fn arrivals(&self) -> Res<Vec<(i64, i64)>> {
        let text = self
            .http
            .get(format!("{}/arrivals", self.origin))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        parse_arrivals(&text)
    }

    /// Forgets the arrivals.
    pub(crate) async fn reset(&self) -> Res<()> {
        self.http
            .post(format!("{}/reset", self.origin))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Closes its stdin and waits (at most a minute) for it to stop.
    pub(crate) async fn stop(mut self) -> Res<()> {
        drop(self.stdin.take());
        let Ok(status) = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await
        else {
            self.child.kill().await?;
            return Err("the receiver process did not stop within a minute".into());
        };
        let status = status?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the receiver process ended with {status}").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_up_line_and_nothing_else() {
        assert_eq!(
            base_url("Tripletex API emulator on http://127.0.0.1:4012/v2 (database sqlite://x)"),
            Some("http://127.0.0.1:4012/v2".to_owned())
        );
        assert_eq!(
            base_url("Dashboard: http://127.0.0.1:4012/_emulator/ui/"),
            None
        );
        assert_eq!(
            base_url("Tripletex API emulator on http://127.0.0.1:4012"),
            None
        );
    }

    #[test]
    fn cpu_time_counts_user_and_system_ticks_past_the_name() {
        let stat = "42 (tripletex (x) y) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(cpu_time_of(stat), Some(Duration::from_secs(3)));
        assert_eq!(cpu_time_of("42 tripletex S"), None);
    }
}
