//! A program run as a child process: its output lines collected and
//! watchable, killed (SIGKILL) when dropped.

use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::WITHIN;

/// A running child process. Dropped, it is killed, and its output is
/// printed if the test is failing.
pub struct Process {
    name: String,
    lines: watch::Sender<Vec<String>>,
    child: Child,
}

impl Process {
    /// Spawns `command` with its stdout and stderr collected (and
    /// [`without_developer_settings`]). Must be called inside a tokio runtime.
    pub fn spawn(name: &str, mut command: Command) -> Self {
        without_developer_settings(&mut command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let lines = watch::Sender::new(Vec::new());
        collect(child.stdout.take().expect("piped stdout"), &lines);
        collect(child.stderr.take().expect("piped stderr"), &lines);
        Self {
            name: name.to_owned(),
            lines,
            child,
        }
    }

    /// Waits (bounded by [`WITHIN`]) for an output line `find` accepts and
    /// returns what it found in it.
    pub async fn wait_for_line<T>(&self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        let mut lines = self.lines.subscribe();
        let mut seen = 0;
        let found = tokio::time::timeout(WITHIN, async {
            loop {
                {
                    let all = lines.borrow_and_update();
                    for line in &all[seen..] {
                        if let Some(found) = find(line) {
                            return Some(found);
                        }
                    }
                    seen = all.len();
                }
                if lines.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        found.ok().flatten().unwrap_or_else(|| {
            panic!(
                "{} did not print {what} within {WITHIN:?}; its output:\n{}",
                self.name,
                self.output()
            )
        })
    }

    /// Everything it printed so far, stdout and stderr interleaved by line.
    pub fn output(&self) -> String {
        self.lines.borrow().join("\n")
    }

    /// SIGKILL, then waits for the process to end.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("the child can be killed");
    }

    /// SIGTERM (a graceful shutdown), then its exit status (bounded by
    /// [`WITHIN`]).
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().expect("the child is still running");
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
        tokio::time::timeout(WITHIN, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not stop within {WITHIN:?} of SIGTERM", self.name))
            .expect("waiting for the child")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("output of {}:\n{}", self.name, self.output());
        }
    }
}

/// Removes the developer's `TRIPLETEX_*`, `RECEIVER_*` and `WEBHOOK_*`
/// environment variables from `command`, except those it sets itself: the
/// programs see only the test's settings and their defaults.
pub fn without_developer_settings(command: &mut Command) {
    let own: Vec<_> = command
        .as_std()
        .get_envs()
        .map(|(name, _)| name.to_owned())
        .collect();
    for (variable, _) in std::env::vars_os() {
        let name = variable.to_string_lossy();
        let ours = ["TRIPLETEX_", "RECEIVER_", "WEBHOOK_"]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if ours && !own.contains(&variable) {
            command.env_remove(&variable);
        }
    }
}

/// Appends a pipe's lines to `lines` until it closes.
fn collect(pipe: impl AsyncRead + Unpin + Send + 'static, lines: &watch::Sender<Vec<String>>) {
    let lines = lines.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.send_modify(|all| all.push(line));
        }
    });
}

impl Process {
    /// The process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }
}

/// The process that owns the loopback TCP connection from `local_port` to
/// `remote_port` (as seen from its own end), found through `/proc` (Linux);
/// `None` where that is unavailable or the connection is gone.
///
/// A test server can so tell which child process sent a request: called
/// while the request is being served, with the peer's port as `local_port`
/// and its own as `remote_port`.
pub fn tcp_connection_owner(local_port: u16, remote_port: u16) -> Option<u32> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let port =
                    |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
                (port(fields.get(1)?)? == local_port && port(fields.get(2)?)? == remote_port)
                    .then(|| fields.get(9).map(|inode| (*inode).to_owned()))
                    .flatten()
            })
        })?;
    let socket = format!("socket:[{inode}]");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
            fds.flatten()
                .any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|link| link.as_os_str() == socket.as_str())
                })
                .then_some(pid)
        })
}

/// The address in the server binary's start-up line,
/// `Tripletex API emulator on http://127.0.0.1:PORT/v2 (database …)`.
pub fn emulator_address(line: &str) -> Option<std::net::SocketAddr> {
    let url = line.strip_prefix("Tripletex API emulator on http://")?;
    let (address, _) = url.split_once("/v2")?;
    address.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::emulator_address;

    #[test]
    fn reads_the_servers_start_up_line() {
        let line = "Tripletex API emulator on http://127.0.0.1:40123/v2 (database sqlite::memory:)";
        assert_eq!(
            emulator_address(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(emulator_address("listening on http://127.0.0.1:1/v2"), None);
        assert_eq!(
            emulator_address("Tripletex API emulator on http://x/v2"),
            None
        );
    }
}
