//! The bundled server, in-process or as the binary, and raw object writes
//! as "other users".

use std::time::Duration;

use serde_json::{Value, json};
use test_support::binary::server_binary;
use test_support::process::{Process, emulator_address};
use tripletex_webhooks_server::{RunningServer, ServerConfig};

/// Where the server runs.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    InProcess,
    Binary,
}

/// A running server and a session token for raw calls.
pub struct Tripletex {
    pub base_url: String,
    token: String,
    http: reqwest::Client,
    _in_process: Option<RunningServer>,
    _process: Option<Process>,
}

impl Tripletex {
    pub async fn start(kind: Kind) -> Self {
        let (base_url, in_process, process) = match kind {
            Kind::InProcess => {
                let server = RunningServer::start(ServerConfig::for_tests())
                    .await
                    .unwrap();
                (server.base_url().clone(), Some(server), None)
            }
            Kind::Binary => {
                let mut command = tokio::process::Command::new(server_binary());
                command
                    .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
                    .args(["--retry-jitter", "0"])
                    .env("RUST_LOG", "warn");
                let process = Process::spawn("the server binary", command);
                let addr = process.wait_for_line("its address", emulator_address).await;
                (format!("http://{addr}/v2"), None, Some(process))
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let created: Value = http
            .put(format!(
                "{base_url}/token/session/:create?consumerToken=local-consumer-token\
                 &employeeToken=local-employee-token&expirationDate=2100-01-01"
            ))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: created["value"]["token"].as_str().unwrap().to_owned(),
            http,
            _in_process: in_process,
            _process: process,
        }
    }

    /// The session token (expiring in 2100).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A call under the API base (`path` like `product/7`), its JSON answer.
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/{path}", self.base_url);
        self.send(method, url, body).await
    }

    /// A call under the server root (`/_emulator/...`).
    pub async fn emulator(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let root = self.base_url.trim_end_matches("/v2");
        self.send(method, format!("{root}{path}"), body).await
    }

    async fn send(&self, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), &url)
            .basic_auth("0", Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates `count` objects under `path` in bulk; their ids.
    pub async fn create_many(&self, path: &str, count: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        for chunk in (0..count).collect::<Vec<_>>().chunks(250) {
            let body: Vec<Value> = chunk
                .iter()
                .map(|n| json!({"name": format!("{path} {n}")}))
                .collect();
            let created = self
                .api(
                    reqwest::Method::POST,
                    &format!("{path}/list"),
                    Some(json!(body)),
                )
                .await;
            ids.extend(
                created["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["id"].as_i64().unwrap()),
            );
        }
        ids
    }

    pub async fn create(&self, path: &str, name: &str) -> i64 {
        let created = self
            .api(reqwest::Method::POST, path, Some(json!({"name": name})))
            .await;
        created["value"]["id"].as_i64().unwrap()
    }

    pub async fn update(&self, path: &str, id: i64, name: &str) {
        let at = format!("{path}/{id}");
        self.api(reqwest::Method::PUT, &at, Some(json!({"name": name})))
            .await;
    }

    pub async fn delete(&self, path: &str, id: i64) {
        self.api(reqwest::Method::DELETE, &format!("{path}/{id}"), None)
            .await;
    }

    /// Every object under `path` with `fields`, by id.
    pub async fn list(&self, path: &str, fields: &str) -> Vec<Value> {
        let at = format!("{path}?fields={fields}&count=1000000");
        let mut values = self.api(reqwest::Method::GET, &at, None).await["values"]
            .as_array()
            .unwrap()
            .clone();
        values.sort_by_key(|v| v["id"].as_i64());
        values
    }

    /// Moves the server clock on.
    pub async fn advance(&self, seconds: f64) {
        let body = json!({ "seconds": seconds });
        self.emulator(
            reqwest::Method::POST,
            "/_emulator/clock/advance",
            Some(body),
        )
        .await;
    }

    /// How many delivery messages have `status`.
    pub async fn deliveries(&self, status: &str) -> i64 {
        let at = format!("/_emulator/deliveries?status={status}&count=1");
        let log = self.emulator(reqwest::Method::GET, &at, None).await;
        log["fullResultSize"].as_i64().unwrap_or_default()
    }

    /// Whether a delivery about object `id` has had an attempt.
    pub async fn attempted(&self, id: i64) -> bool {
        let at = format!("/_emulator/deliveries?objectId={id}&count=100");
        let log = self.emulator(reqwest::Method::GET, &at, None).await;
        log["values"]
            .as_array()
            .is_some_and(|values| values.iter().any(|m| m["attempts"].as_i64() >= Some(1)))
    }

    /// The statuses of the subscriptions.
    pub async fn subscription_statuses(&self) -> Vec<String> {
        let list = self
            .api(reqwest::Method::GET, "event/subscription?count=1000", None)
            .await;
        list["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}
