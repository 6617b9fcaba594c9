//! How callbacks reach their targets: never through a proxy from the
//! environment, through `--callback-proxy` only when asked, never to an
//! address `--block-private-targets` refuses, however it is spelled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::process::ServerProcess;
use common::receiver::Receiver;
use common::{Harness, json, test_config};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use test_support::process::Process;
use test_support::{WITHIN, eventually};
use tripletex_webhooks_server::{RunningServer, StartError};

const EMPLOYEE_TOKEN: &str = "targets-employee-token";
const BLOCKED: &str = "blocked by --block-private-targets";
const UP_WITHIN: Duration = Duration::from_secs(30);

/// A stand-in proxy: counts the connections it gets and closes them.
struct CountingProxy {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl CountingProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Self { url, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every proxy variable an HTTP client reads, pointing at this proxy,
    /// with no exclusions.
    fn environment(&self) -> Vec<(&'static str, &str)> {
        let mut variables: Vec<(&'static str, &str)> = [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .into_iter()
        .map(|name| (name, self.url.as_str()))
        .collect();
        variables.extend([("NO_PROXY", ""), ("no_proxy", "")]);
        variables
    }
}

/// A client of the test itself that ignores the developer's proxy settings.
fn direct_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The server binary as a child process, with a session token.
struct Child {
    server: ServerProcess,
    http: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

impl Child {
    async fn start(extra: &[&str], envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = common::postgres_test_url()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("targets.db").display()));
        let server = ServerProcess::start_with_env(&database, EMPLOYEE_TOKEN, extra, envs).await;
        let http = direct_client();
        server.wait_until_up(&http, UP_WITHIN).await;
        let token = server.session_token(&http).await;
        Self {
            server,
            http,
            token,
            _dir: dir,
        }
    }

    async fn request(&self, method: Method, url: String, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, url)
            .basic_auth("0", Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = json(request.send().await.unwrap()).await;
        assert!((200..300).contains(&status), "{status}: {body}");
        body
    }

    async fn subscribe(&self, target_url: &str) -> i64 {
        let body = json!({"event": "product.create", "targetUrl": target_url});
        let url = format!("{}/event/subscription", self.server.base());
        let created = self.request(Method::POST, url, Some(body)).await;
        created["value"]["id"].as_i64().unwrap()
    }

    async fn create_product(&self) {
        let url = format!("{}/product", self.server.base());
        self.request(Method::POST, url, Some(json!({"name": "x"})))
            .await;
    }

    /// The first attempt's error of the newest message of `subscription`.
    async fn first_error(&self, subscription: i64) -> String {
        let root = self.server.base().trim_end_matches("/v2").to_owned();
        let url = format!("{root}/_emulator/deliveries?subscriptionId={subscription}");
        eventually(
            &format!("an attempt for subscription {subscription}"),
            || {
                let url = url.clone();
                async move {
                    let log = self.request(Method::GET, url, None).await;
                    let error = log["values"][0]["attemptLog"][0]["error"].as_str()?;
                    Some(error.to_owned())
                }
            },
        )
        .await
    }
}

/// A name other than `localhost` that resolves here to loopback only (the
/// host's own name usually does), if there is one.
async fn another_loopback_name() -> Option<String> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    for name in [hostname.as_str(), "localhost.localdomain", "ip6-localhost"] {
        if name.is_empty() || name == "localhost" {
            continue;
        }
        let Ok(addresses) = tokio::net::lookup_host((name, 0)).await else {
            continue;
        };
        let addresses: Vec<IpAddr> = addresses.map(|a| a.ip()).collect();
        if !addresses.is_empty() && addresses.iter().all(IpAddr::is_loopback) {
            return Some(name.to_owned());
        }
    }
    None
}

fn port_of(receiver: &Receiver) -> &str {
    &receiver.base[receiver.base.rfind(':').unwrap() + 1..]
}

#[tokio::test]
async fn an_environment_proxy_never_carries_callbacks_to_blocked_names() {
    let proxy = CountingProxy::start().await;
    let receiver = Receiver::start().await;
    let child = Child::start(&["--block-private-targets"], &proxy.environment()).await;
    let port = port_of(&receiver);
    let mut names = vec!["localhost".to_owned(), "localhost.".to_owned()];
    match another_loopback_name().await {
        Some(name) => names.push(name),
        None => eprintln!("SKIPPED part: no name other than localhost resolves to loopback here"),
    }
    let mut subscriptions = Vec::new();
    for name in &names {
        let target = format!("http://{name}:{port}/hook");
        subscriptions.push((name, child.subscribe(&target).await));
    }
    child.create_product().await;
    for (name, subscription) in subscriptions {
        let error = child.first_error(subscription).await;
        assert!(error.contains(BLOCKED), "{name}: {error}");
    }
    assert_eq!(proxy.connections(), 0, "the proxy was used");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn without_the_block_callbacks_still_go_direct_past_an_environment_proxy() {
    let proxy = CountingProxy::start().await;
    let receiver = Receiver::start().await;
    let child = Child::start(&[], &proxy.environment()).await;
    child.subscribe(&receiver.url("/direct")).await;
    child.create_product().await;
    let callbacks = receiver.wait_for(1, WITHIN).await;
    assert_eq!(callbacks[0].uri.path(), "/direct");
    assert_eq!(proxy.connections(), 0, "the proxy was used");
}

#[tokio::test]
async fn an_explicit_callback_proxy_carries_callbacks() {
    let proxy = CountingProxy::start().await;
    let receiver = Receiver::start().await;
    let mut config = test_config();
    config.callback_proxy = Some(SecretString::from(proxy.url.clone()));
    let h = Harness::with_config(config).await;
    let response = h
        .request(Method::POST, "/event/subscription")
        .json(&json!({"event": "product.create", "targetUrl": receiver.url("/via-proxy")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let response = h
        .request(Method::POST, "/product")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    eventually("a connection to the proxy", || async {
        (proxy.connections() > 0).then_some(())
    })
    .await;
    assert!(receiver.received().is_empty(), "the proxy was bypassed");
}

#[tokio::test]
async fn a_callback_proxy_with_the_block_is_refused_at_start_up() {
    let mut config = test_config();
    config.callback_proxy = Some(SecretString::from("http://127.0.0.1:3128"));
    config.block_private_targets = true;
    let refused = RunningServer::start(config).await.unwrap_err();
    assert!(
        matches!(refused, StartError::ProxyWithPrivateTargetBlock),
        "{refused}"
    );

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tripletex-webhooks-server"));
    command.env("RUST_LOG", "error").args([
        "--listen",
        "127.0.0.1:0",
        "--database",
        "sqlite::memory:",
        "--callback-proxy",
        "http://user:proxy-secret@127.0.0.1:3128",
        "--block-private-targets",
    ]);
    let process = Process::spawn("the server binary", command);
    let line = process
        .wait_for_line("the start-up refusal", |line| {
            line.contains("failed to start").then(|| line.to_owned())
        })
        .await;
    assert!(line.contains("cannot be combined"), "{line}");
    assert!(!process.output().contains("proxy-secret"));
}

#[tokio::test]
async fn ip_literals_that_carry_loopback_are_not_delivered() {
    let mut config = test_config();
    config.block_private_targets = true;
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    let port = port_of(&receiver);
    let targets = [
        format!("http://[::ffff:7f00:1]:{port}/mapped"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped-dotted"),
        format!("http://[64:ff9b::7f00:1]:{port}/nat64"),
        format!("http://[64:ff9b:1::7f00:1]:{port}/nat64-local"),
        format!("http://[::127.0.0.1]:{port}/compatible"),
        format!("http://[2002:7f00:1::]:{port}/6to4"),
        format!("http://[2001::7f00:1]:{port}/teredo"),
        format!("http://[fec0::1]:{port}/site-local"),
        format!("http://2130706433:{port}/decimal"),
        format!("http://0x7f.1:{port}/hex"),
    ];
    let mut subscriptions = Vec::new();
    for target in &targets {
        let response = h
            .request(Method::POST, "/event/subscription")
            .json(&json!({"event": "product.create", "targetUrl": target}))
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 201, "{body}");
        subscriptions.push((target, body["value"]["id"].as_i64().unwrap()));
    }
    let response = h
        .request(Method::POST, "/product")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    for (target, subscription) in subscriptions {
        let error = eventually(&format!("an attempt to {target}"), || async {
            let response = h
                .emulator(
                    Method::GET,
                    &format!("/_emulator/deliveries?subscriptionId={subscription}"),
                )
                .send()
                .await
                .unwrap();
            let (_, log) = json(response).await;
            Some(
                log["values"][0]["attemptLog"][0]["error"]
                    .as_str()?
                    .to_owned(),
            )
        })
        .await;
        assert!(error.contains(BLOCKED), "{target}: {error}");
    }
    assert!(receiver.received().is_empty());
}
