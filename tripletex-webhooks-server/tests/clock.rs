//! The emulator clock survives restarts: its offset is kept in the store, so
//! retries scheduled in emulated time do not wait in real time after one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::process::ServerProcess;
use common::{postgres_test_url, test_config};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tripletex_webhooks_server::RunningServer;

const EMPLOYEE_TOKEN: &str = "clock-employee-token";
const A_DAY: Duration = Duration::from_secs(86_400);

/// A database that outlives one server: a SQLite file in `dir`, or a fresh
/// PostgreSQL schema when the suite runs on PostgreSQL.
fn lasting_database(dir: &tempfile::TempDir) -> String {
    postgres_test_url()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("clock.db").display()))
}

/// The emulator API lives beside `/v2`, at the server's root.
fn emulator(base: &str, path: &str) -> String {
    format!("{}/_emulator{path}", base.trim_end_matches("/v2"))
}

async fn offset_ms(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    let clock: Value = http
        .get(emulator(base, "/clock"))
        .basic_auth("0", Some(token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    clock["value"]["offsetMs"].as_i64().unwrap()
}

#[tokio::test]
async fn a_killed_server_restarts_with_its_clock_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let database = lasting_database(&dir);
    let http = reqwest::Client::new();
    let mut server = ServerProcess::start(&database, EMPLOYEE_TOKEN, &[]).await;
    server.wait_until_up(&http, Duration::from_secs(30)).await;
    let token = server.session_token(&http).await;
    let response = http
        .post(emulator(&server.base(), "/clock/advance"))
        .basic_auth("0", Some(&token))
        .json(&json!({"seconds": A_DAY.as_secs()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    server.kill().await;
    server.restart();
    server.wait_until_up(&http, Duration::from_secs(30)).await;
    let offset = offset_ms(&http, &server.base(), &token).await;
    assert!(
        offset >= 86_400_000,
        "the clock went back: offset {offset} ms"
    );
}

#[tokio::test]
async fn an_advance_through_the_handle_is_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database_url = lasting_database(&dir);
    let server = RunningServer::start(config.clone()).await.unwrap();
    server.clock().advance(A_DAY);
    let before = server.clock().now();
    server.shutdown().await;

    let server = RunningServer::start(config).await.unwrap();
    assert!(server.clock().now() >= before, "the clock went back");
    let token = server.create_session_token(0).await.unwrap();
    let offset = offset_ms(
        &reqwest::Client::new(),
        &server.base_url(),
        token.expose_secret(),
    )
    .await;
    assert!(offset >= 86_400_000, "offset {offset} ms");
    server.shutdown().await;
}
