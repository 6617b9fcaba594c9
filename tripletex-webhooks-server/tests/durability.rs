//! What `--durability` promises on embedded SQLite, observed from outside:
//! strace attached to the server binary records, per create, the request
//! read, the commit's writes to the WAL and the `201` written back. Under
//! `power` the thread that wrote the commit syncs the WAL before the answer
//! goes out; under `process` it does not (the WAL is synced at checkpoints).
//! That each mode survives kill -9 is `tests/crash.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::process::ServerProcess;
use serde_json::json;
use test_support::process::Process;
use tokio::process::Command;

const EMPLOYEE_TOKEN: &str = "durability-employee-token";
const CREATES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_syncs_the_wal_before_each_answer() {
    let Some(answers) = traced_creates("power").await else {
        return;
    };
    assert_eq!(answers.len(), CREATES, "{answers:?}");
    assert!(answers.iter().all(|a| a.synced), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_answers_without_waiting_for_a_sync() {
    let Some(answers) = traced_creates("process").await else {
        return;
    };
    assert_eq!(answers.len(), CREATES, "{answers:?}");
    assert!(answers.iter().all(|a| !a.synced), "{answers:?}");
}

/// One `201` answer to a create, as the trace shows it.
#[derive(Debug)]
struct Answer {
    /// Whether the thread that wrote the commit to the WAL synced it after
    /// that write and before the answer.
    synced: bool,
}

/// Starts the server with `--durability durability`, attaches strace and
/// makes [`CREATES`] creates one after another; the answers the trace shows.
/// `None` (after a printed skip) where strace is missing.
async fn traced_creates(durability: &str) -> Option<Vec<Answer>> {
    if !strace_runs().await {
        test_support::services::skip("strace is not installed (apt-get install strace)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("durability.db").display());
    let mut server =
        ServerProcess::start(&database, EMPLOYEE_TOKEN, &["--durability", durability]).await;
    let http = reqwest::Client::new();
    server.wait_until_up(&http, test_support::WITHIN).await;
    let token = server.session_token(&http).await;
    let create = |n: usize| {
        http.post(format!("{}/product", server.base()))
            .basic_auth("0", Some(&token))
            .json(&json!({"name": format!("durable {n}")}))
            .send()
    };
    assert_eq!(create(0).await.unwrap().status(), 201);

    let trace = dir.path().join("trace.txt");
    let mut strace = attach_strace(server.pid(), &trace).await;
    for n in 1..=CREATES {
        assert_eq!(create(n).await.unwrap().status(), 201);
    }
    // Detaching flushes the trace; the server runs on untraced.
    strace.terminate().await;
    let answers = answers_in(&std::fs::read_to_string(&trace).unwrap());
    server.kill().await;
    Some(answers)
}

async fn strace_runs() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .await
        .is_ok_and(|output| output.status.success())
}

/// strace on every thread of `pid`, writing to `trace`, once it has attached.
async fn attach_strace(pid: u32, trace: &Path) -> Process {
    let mut command = Command::new("strace");
    command
        .args(["-f", "-y", "-s", "32", "-e", "signal=none"])
        .args([
            "-e",
            "trace=read,recvfrom,write,writev,sendto,pwrite64,fsync,fdatasync",
        ])
        .arg("-o")
        .arg(trace)
        .args(["-p", &pid.to_string()]);
    let strace = Process::spawn("strace", command);
    // "Process N attached with M threads", once all are.
    strace
        .wait_for_line("that it attached", |line| {
            line.contains(" attached").then_some(())
        })
        .await;
    strace
}

/// The completed system calls of a trace, in the order they completed, as
/// (thread, call text): a call another thread interrupted is printed as
/// `<unfinished ...>` and `<... name resumed>`, and is joined here.
fn completed_calls(trace: &str) -> Vec<(u32, String)> {
    let mut unfinished: HashMap<u32, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let Some((thread, text)) = line.split_once(' ') else {
            continue;
        };
        let Ok(thread) = thread.parse::<u32>() else {
            continue;
        };
        let text = text.trim_start();
        if let Some(start) = text.strip_suffix("<unfinished ...>") {
            unfinished.insert(thread, start.to_owned());
        } else if let Some(rest) = text.strip_prefix("<... ") {
            let rest = rest.split_once("resumed>").map_or(rest, |(_, rest)| rest);
            let start = unfinished.remove(&thread).unwrap_or_default();
            calls.push((thread, start + rest));
        } else {
            calls.push((thread, text.to_owned()));
        }
    }
    calls
}

/// Each `201` answered to a create whose request the trace saw, with whether
/// the commit's thread synced the WAL after its last write to it.
fn answers_in(trace: &str) -> Vec<Answer> {
    let mut answers = Vec::new();
    // Since the current request was read: the last thread to write the WAL,
    // and whether it synced it since.
    let mut request: Option<Option<(u32, bool)>> = None;
    for (thread, call) in completed_calls(trace) {
        let (name, args) = call.split_once('(').unwrap_or((&call, ""));
        let on_wal = args
            .split_once('>')
            .is_some_and(|(fd, _)| fd.ends_with("-wal"));
        match name {
            "read" | "recvfrom" if args.contains("\"POST /v2/product ") => request = Some(None),
            "pwrite64" if on_wal => {
                if let Some(wal) = request.as_mut() {
                    *wal = Some((thread, false));
                }
            }
            "fsync" | "fdatasync" if on_wal => {
                if let Some(Some((writer, synced))) = request.as_mut() {
                    *synced |= *writer == thread;
                }
            }
            "write" | "writev" | "sendto" if args.contains("HTTP/1.1 201") => {
                if let Some(wal) = request.take() {
                    let wal =
                        wal.unwrap_or_else(|| panic!("a create without a WAL write:\n{trace}"));
                    answers.push(Answer { synced: wal.1 });
                }
            }
            _ => {}
        }
    }
    answers
}

#[test]
fn the_trace_reader_joins_interrupted_calls_and_follows_the_writer() {
    let trace = r#"10 read(7<TCP:[1]>, "POST /v2/product HTTP/1.1\r\n"..., 8192) = 300
11 pwrite64(5</d/x.db-wal>, "\0"..., 4096, 0) = 4096
12 fdatasync(5</d/x.db-wal>) = 0
11 fdatasync(5</d/x.db-wal> <unfinished ...>
10 write(9<TCP:[2]>, "x", 1) = 1
11 <... fdatasync resumed>) = 0
10 writev(7<TCP:[1]>, [{iov_base="HTTP/1.1 201 Created\r\n"...}], 1) = 200
10 read(7<TCP:[1]>, "POST /v2/product HTTP/1.1\r\n"..., 8192) = 300
11 fdatasync(5</d/x.db-wal>) = 0
11 pwrite64(5</d/x.db-wal>, "\0"..., 4096, 0) = 4096
12 fdatasync(5</d/x.db-wal>) = 0
10 write(7<TCP:[1]>, "HTTP/1.1 201 Created\r\n"..., 200) = 200
"#;
    let answers = answers_in(trace);
    assert_eq!(
        answers.iter().map(|a| a.synced).collect::<Vec<_>>(),
        [true, false],
        "the first commit's writer synced after its write; the second synced only before it, and another thread's sync does not count"
    );
}
