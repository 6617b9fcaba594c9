//! The bundled Tripletex, either in-process ([`RunningServer`]) or as the
//! built binary in a child process, behind one handle the scenarios use: the
//! typed client, raw object and emulator calls, and the server clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::Command;
use tripletex_webhooks_client::{Client, time};
use tripletex_webhooks_server::{RunningServer, ServerConfig};

use crate::eventually;
use test_support::binary::server_binary;
use test_support::process::{Process, emulator_address};

/// Where the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `RunningServer::start` in the test's runtime, on in-memory SQLite.
    InProcess,
    /// The `tripletex-webhooks-server` binary in a child process, on a SQLite
    /// file in a temporary directory.
    Binary,
}

enum Running {
    InProcess(#[allow(dead_code)] RunningServer),
    Binary(#[allow(dead_code)] ServerProcess),
}

/// A running bundled Tripletex with a session for its default company.
pub struct Tripletex {
    /// `http://127.0.0.1:PORT`.
    root: String,
    token: String,
    http: reqwest::Client,
    /// The client, on the server's clock (which the tests move forward).
    pub client: Client,
    /// How far the server clock is ahead of real time, in milliseconds.
    offset_ms: Arc<AtomicI64>,
    /// Kept for its `Drop`: the server stops (or the child is killed) with it.
    _running: Running,
    _dir: TempDir,
}

impl Tripletex {
    /// Starts a server with the default configuration and local tokens.
    pub async fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (root, running) = match backend {
            Backend::InProcess => {
                let server = RunningServer::start(ServerConfig::for_tests())
                    .await
                    .expect("the server starts");
                let root = format!("http://{}", server.local_addr());
                (root, Running::InProcess(server))
            }
            Backend::Binary => {
                let database = format!("sqlite://{}", dir.path().join("tripletex.db").display());
                let process = ServerProcess::spawn(&database).await;
                (process.root.clone(), Running::Binary(process))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let session: Value = http
            .put(format!(
                "{root}/v2/token/session/:create?consumerToken=local-consumer-token\
                 &employeeToken=local-employee-token&expirationDate=2099-01-01"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["value"]["token"].as_str().unwrap().to_owned();
        let offset_ms = Arc::new(AtomicI64::new(0));
        let clock_offset = Arc::clone(&offset_ms);
        let client = Client::builder()
            .base_url(format!("{root}/v2"))
            .consumer_token("local-consumer-token")
            .employee_token("local-employee-token")
            // The client dates its sessions; give it the server's time.
            .clock(move || {
                time::OffsetDateTime::now_utc()
                    + time::Duration::milliseconds(clock_offset.load(Ordering::SeqCst))
            })
            .build()
            .unwrap();
        Self {
            root,
            token,
            http,
            client,
            offset_ms,
            _running: running,
            _dir: dir,
        }
    }

    /// The API base URL, `http://127.0.0.1:PORT/v2`.
    pub fn base_url(&self) -> String {
        format!("{}/v2", self.root)
    }

    /// A request to `{root}{path}` with the session's Basic credentials.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.root))
            .basic_auth("0", Some(&self.token))
    }

    /// Sends a request and returns the JSON body (`null` for none), asserting a 2xx.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// `POST /v2/{path}`: the created object.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.call(Method::POST, &format!("/v2/{path}"), Some(&body))
            .await["value"]
            .take()
    }

    /// `PUT /v2/{path}/{id}`: the updated object.
    pub async fn update(&self, path: &str, id: i64, body: Value) -> Value {
        self.call(Method::PUT, &format!("/v2/{path}/{id}"), Some(&body))
            .await["value"]
            .take()
    }

    /// `DELETE /v2/{path}/{id}`.
    pub async fn delete(&self, path: &str, id: i64) {
        self.call(Method::DELETE, &format!("/v2/{path}/{id}"), None)
            .await;
    }

    /// Every object of a resource (`GET /v2/{path}`), shaped by `fields`.
    pub async fn list(&self, path: &str, fields: &str) -> Vec<Value> {
        let body = self
            .call(
                Method::GET,
                &format!("/v2/{path}?from=0&count=10000&fields={fields}"),
                None,
            )
            .await;
        body["values"].as_array().unwrap().clone()
    }

    /// Emits an event that has no object endpoint (`POST /_emulator/events`).
    pub async fn emit(&self, event: &str, id: i64, value: Value) {
        let body = json!({"event": event, "id": id, "value": value});
        let answer = self
            .call(Method::POST, "/_emulator/events", Some(&body))
            .await;
        assert!(answer["value"]["deliveries"].as_i64() > Some(0), "{answer}");
    }

    /// Moves the server clock forward (`POST /_emulator/clock/advance`):
    /// retries due by then fire at once.
    pub async fn advance(&self, by: Duration) {
        let body = json!({"seconds": by.as_secs_f64()});
        let clock = self
            .call(Method::POST, "/_emulator/clock/advance", Some(&body))
            .await;
        let offset = clock["value"]["offsetMs"].as_i64().unwrap();
        self.offset_ms.store(offset, Ordering::SeqCst);
    }

    /// The delivery log (`GET /_emulator/deliveries`) of one subscription, or all.
    pub async fn deliveries(&self, subscription: Option<i64>) -> Vec<Value> {
        let query = subscription.map_or_else(String::new, |id| format!("?subscriptionId={id}"));
        let body = self
            .call(Method::GET, &format!("/_emulator/deliveries{query}"), None)
            .await;
        body["values"].as_array().unwrap().clone()
    }

    /// Sends a message again, with the same idempotency key.
    pub async fn redeliver(&self, message: i64) {
        self.call(
            Method::POST,
            &format!("/_emulator/deliveries/{message}/redeliver"),
            None,
        )
        .await;
    }

    /// Waits (bounded) until the delivery log satisfies `done`, and returns it.
    pub async fn wait_for_deliveries(
        &self,
        what: &str,
        subscription: Option<i64>,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        eventually(what, || async {
            let log = self.deliveries(subscription).await;
            done(&log).then_some(log)
        })
        .await
    }
}

/// The server binary in a child process, killed when dropped.
struct ServerProcess {
    root: String,
    _process: Process,
}

impl ServerProcess {
    /// Starts the binary on an ephemeral loopback port and waits for the
    /// address it prints (`Tripletex API emulator on http://…/v2 …`).
    async fn spawn(database: &str) -> Self {
        let mut command = Command::new(server_binary());
        command
            .args(["--listen", "127.0.0.1:0", "--database", database])
            .env("RUST_LOG", "warn");
        let process = Process::spawn("the server binary", command);
        let root = process
            .wait_for_line("its address", |line| {
                emulator_address(line).map(|addr| format!("http://{addr}"))
            })
            .await;
        Self {
            root,
            _process: process,
        }
    }
}
