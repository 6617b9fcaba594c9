//! The webhook receiver of the browser tests: a real axum server on
//! loopback that answers every callback with the status it is told to and a
//! JSON body a person can recognise on the message's page.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

/// What the receiver says in every answer's body.
pub const ANSWER: &str = "thanks from the browser-test receiver";

pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    status: Arc<AtomicU16>,
}

impl Receiver {
    /// A receiver answering 200.
    pub async fn start() -> Self {
        let status = Arc::new(AtomicU16::new(200));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/{*path}", post(answer))
            .with_state(Arc::clone(&status));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, status }
    }

    /// The URL of `path` on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

async fn answer(
    State(status): State<Arc<AtomicU16>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let code = status.load(Ordering::SeqCst);
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        format!(r#"{{"said":"{ANSWER}","status":{code}}}"#),
    )
}
