//! PostgreSQL going away mid-delivery: the API answers 503 `ApiError`s while
//! it is gone (never a false 2xx), delivery resumes shortly after it returns
//! without restarting the server, and nothing is lost.
//!
//! The outage is made on the wire, as a database restart looks to its
//! clients: the server reaches PostgreSQL through a loopback relay that can
//! reset every open connection and refuse new ones, then let them through
//! again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::receiver::Receiver;
use common::{Harness, assert_api_error, fresh_schema_url, test_config};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::{WITHIN, eventually, eventually_within};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How soon after the database returns delivery must have resumed.
const RESUMES_WITHIN: Duration = Duration::from_secs(5);

/// A TCP relay to PostgreSQL that can be cut (open connections reset, new
/// ones closed at once) and restored.
struct Relay {
    addr: SocketAddr,
    state: Arc<Mutex<RelayState>>,
    _accepting: JoinHandle<()>,
}

#[derive(Default)]
struct RelayState {
    cut: bool,
    connections: Vec<JoinHandle<()>>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(RelayState::default()));
        let shared = Arc::clone(&state);
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = shared.lock().unwrap();
                if state.cut {
                    continue; // dropped: closed at once
                }
                state.connections.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self {
            addr,
            state,
            _accepting: accepting,
        }
    }

    fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = true;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.state.lock().unwrap().cut = false;
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some(&addr.ip().to_string())).unwrap();
    url.set_port(Some(addr.port())).unwrap();
    url.to_string()
}

fn postgres_addr(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", url.port().unwrap_or(5432))
        .parse()
        .unwrap()
}

async fn create(h: &Harness, name: &str) -> reqwest::Response {
    h.request(Method::POST, "/product")
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_database_outage_answers_503_and_delivery_resumes_after_it() {
    let Some(base) = test_support::services::url("DATABASE_URL") else {
        return;
    };
    let relay = Relay::start(postgres_addr(&base)).await;
    let mut config = test_config();
    config.database_url = through(&fresh_schema_url(&base), relay.addr);
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    let response = h
        .request(Method::POST, "/event/subscription")
        .json(&json!({"event": "product.create", "targetUrl": receiver.url("/hook")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // One delivery is in flight (the receiver holds it) when the database goes.
    receiver.hold();
    assert_eq!(create(&h, "in flight").await.status(), 201);
    receiver.wait_for(1, WITHIN).await;
    relay.cut();

    for request in [
        h.request(Method::GET, "/product"),
        h.request(Method::POST, "/product")
            .json(&json!({"name": "refused"})),
        h.request(Method::GET, "/event/subscription"),
    ] {
        assert_api_error(request.send().await.unwrap(), 503, 1000).await;
    }
    // The held attempt succeeds while its outcome cannot be recorded.
    receiver.open();
    receiver.wait_for(1, WITHIN).await;

    relay.restore();
    eventually_within(RESUMES_WITHIN, "the API to answer again", || async {
        (create(&h, "after").await.status() == 201).then_some(())
    })
    .await;
    let names = eventually_within(RESUMES_WITHIN, "delivery to resume", || async {
        let names: Vec<String> = receiver
            .received()
            .iter()
            .map(|c| c.json()["value"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.iter().any(|n| n == "after").then_some(names)
    })
    .await;
    assert!(!names.iter().any(|n| n == "refused"), "{names:?}");
    eventually("both messages recorded as delivered", || async {
        let log: Value = h
            .emulator(Method::GET, "/_emulator/deliveries")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let log = log["values"].as_array()?.clone();
        (log.len() == 2 && log.iter().all(|m| m["status"] == "delivered")).then_some(())
    })
    .await;
}
