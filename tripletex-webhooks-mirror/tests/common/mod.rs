//! The bundled server in-process, an app that serves the mirror's webhooks,
//! and raw object writes as "other users".

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tripletex_webhooks_client::Client;
use tripletex_webhooks_mirror::{Mirror, MirrorBuilder};
use tripletex_webhooks_server::{RunningServer, ServerConfig};
use tripletex_webhooks_types::Subject;

pub const FIELDS: &str = "id,version,name";

pub struct Tripletex {
    pub server: RunningServer,
    pub client: Client,
    token: String,
    http: reqwest::Client,
}

impl Tripletex {
    pub async fn start() -> Self {
        let server = RunningServer::start(ServerConfig::for_tests())
            .await
            .unwrap();
        let token = server.create_session_token(0).await.unwrap();
        let client = Client::builder()
            .base_url(server.base_url())
            .session_token(token.clone())
            .build()
            .unwrap();
        Self {
            server,
            client,
            token: token.expose_secret().to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/{path}", self.server.base_url()))
            .basic_auth("0", Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap().error_for_status().unwrap();
        response.json().await.unwrap_or(Value::Null)
    }

    /// An emulator call, `path` from the server root (`/_emulator/...`).
    pub async fn emulator(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let root = self.server.base_url().trim_end_matches("/v2").to_owned();
        let mut request = self
            .http
            .request(method, format!("{root}{path}"))
            .basic_auth("0", Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap().error_for_status().unwrap();
        response.json().await.unwrap_or(Value::Null)
    }

    /// Creates a product; returns its id.
    pub async fn create(&self, name: &str) -> i64 {
        self.create_in("product", name).await
    }

    /// Creates an object under `path`; returns its id.
    pub async fn create_in(&self, path: &str, name: &str) -> i64 {
        let body = Some(json!({ "name": name }));
        let created = self.send(reqwest::Method::POST, path, body).await;
        created["value"]["id"].as_i64().unwrap()
    }

    pub async fn update(&self, id: i64, name: &str) -> Value {
        self.update_in("product", id, name).await
    }

    pub async fn update_in(&self, path: &str, id: i64, name: &str) -> Value {
        let body = Some(json!({ "name": name }));
        let at = format!("{path}/{id}");
        self.send(reqwest::Method::PUT, &at, body).await["value"].clone()
    }

    pub async fn delete(&self, id: i64) {
        self.delete_in("product", id).await;
    }

    pub async fn delete_in(&self, path: &str, id: i64) {
        let at = format!("{path}/{id}");
        self.send(reqwest::Method::DELETE, &at, None).await;
    }

    /// The server's products: (id, version, name), by id.
    pub async fn products(&self) -> Vec<(i64, i64, String)> {
        self.list("product").await
    }

    /// The server's objects under `path`: (id, version, name), by id.
    pub async fn list(&self, path: &str) -> Vec<(i64, i64, String)> {
        let at = format!("{path}?fields={FIELDS}&count=100000");
        let list = self.send(reqwest::Method::GET, &at, None).await;
        list["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_i64().unwrap(),
                    p["version"].as_i64().unwrap(),
                    p["name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// The mirror's live objects of a subject from the store: (id, version, name), by id.
pub async fn local_rows(mirror: &Mirror, subject: &str) -> Vec<(i64, i64, String)> {
    mirror
        .store()
        .objects(subject)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| !o.deleted)
        .map(|o| {
            let data = o.data.unwrap();
            (
                o.id,
                o.version,
                data["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A mirror of products on a SQLite file in `dir`, sending webhooks to `target`.
pub fn builder(t: &Tripletex, dir: &std::path::Path, target: &str) -> MirrorBuilder {
    Mirror::builder()
        .client(t.client.clone())
        .subject(Subject::Product, FIELDS)
        .target_url(target)
        .auth_header("X-Api-Key", "mirror-key")
        .hmac_secret("mirror-secret")
        .store_url(format!("sqlite://{}", dir.join("mirror.db").display()))
        .propagation(Duration::ZERO)
        .page_size(3)
}

/// A listener for the app; its URL for webhooks.
pub async fn app_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/tripletex/webhooks",
        listener.local_addr().unwrap()
    );
    (listener, url)
}

/// Serves the mirror's webhooks on `listener`.
pub fn serve(mirror: &Mirror, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let router = mirror.webhooks().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    })
}

/// The mirror's live products: id to (version, name).
pub async fn local(mirror: &Mirror) -> Vec<(i64, i64, String)> {
    use tripletex_webhooks_types::models::Product;
    mirror
        .all::<Product>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.id.unwrap(),
                i64::from(p.version.unwrap()),
                p.name.unwrap_or_default(),
            )
        })
        .collect()
}
