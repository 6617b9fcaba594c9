//! A loopback webhook receiver for tests: records every callback and answers
//! as the test tells it to.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::watch;

/// One callback as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The process that sent it (see
    /// [`test_support::process::tcp_connection_owner`]), where `/proc` tells.
    pub sender_pid: Option<u32>,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, u64),
    Redirect,
    /// 200 with `x-receiver: echo`, each request header repeated as
    /// `x-echo-NAME`, and a body of the request line and headers padded past
    /// 4 KiB, as an echo service answers.
    Echo,
}

/// The answer [`Answer::Echo`] gives to a request.
fn echo(uri: &Uri, headers: &HeaderMap) -> Response {
    let mut body = format!("POST {uri}\n");
    let mut answer = HeaderMap::new();
    answer.insert("x-receiver", "echo".parse().unwrap());
    for (name, value) in headers {
        writeln!(body, "{name}: {}", value.to_str().unwrap()).unwrap();
        answer.insert(
            axum::http::HeaderName::try_from(format!("x-echo-{name}")).unwrap(),
            value.clone(),
        );
    }
    body.push_str(&"-".repeat(5000));
    (StatusCode::OK, answer, body).into_response()
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    count: watch::Sender<usize>,
    answer: Arc<Mutex<Answer>>,
    /// While closed, callbacks are held before they are answered.
    gate: watch::Sender<bool>,
    /// The sending process of each connection, looked up once per connection.
    senders: Arc<Mutex<HashMap<SocketAddr, Option<u32>>>>,
    /// This receiver's port.
    port: u16,
}

pub struct Receiver {
    pub base: String,
    shared: Shared,
    count: watch::Receiver<usize>,
}

impl Receiver {
    /// Starts a receiver on an ephemeral loopback port answering 200.
    pub async fn start() -> Self {
        let (count, count_rx) = watch::channel(0);
        let shared = Shared {
            received: Arc::default(),
            count,
            answer: Arc::new(Mutex::new(Answer::Status(200))),
            gate: watch::Sender::new(true),
            senders: Arc::default(),
            port: 0,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let base = format!("http://{address}");
        let shared = Shared {
            port: address.port(),
            ..shared
        };
        let app = Router::new()
            .route("/{*path}", post(handle))
            .with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            base,
            shared,
            count: count_rx,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// Holds every callback (after recording it) until [`Receiver::open`].
    pub fn hold(&self) {
        self.shared.gate.send_replace(false);
    }

    /// Answers the held callbacks and stops holding.
    pub fn open(&self) {
        self.shared.gate.send_replace(true);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` callbacks arrived, and returns them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let mut count = self.count.clone();
        let arrived = tokio::time::timeout(within, count.wait_for(|c| *c >= n)).await;
        assert!(
            arrived.is_ok(),
            "expected {n} callbacks within {within:?}, got {}",
            self.received().len()
        );
        self.received()
    }
}

async fn handle(
    State(shared): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Looked up while the connection is open (the sender awaits the answer).
    let sender_pid = *shared
        .senders
        .lock()
        .unwrap()
        .entry(peer)
        .or_insert_with(|| test_support::process::tcp_connection_owner(peer.port(), shared.port));
    let request = (uri.clone(), headers.clone());
    shared.received.lock().unwrap().push(Received {
        sender_pid,
        uri,
        headers,
        body,
    });
    shared.count.send_modify(|c| *c += 1);
    let _ = shared.gate.subscribe().wait_for(|open| *open).await;
    let answer = shared.answer.lock().unwrap().clone();
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::RetryAfter(code, seconds) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", seconds.to_string())],
        )
            .into_response(),
        Answer::Redirect => (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:9/elsewhere")],
        )
            .into_response(),
        Answer::Echo => echo(&request.0, &request.1),
    }
}

/// A TCP listener that accepts connections and never answers.
pub async fn blackhole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    base
}
