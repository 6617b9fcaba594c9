//! `GET /health` and `GET /ready`: unauthenticated, at the root; `/ready` is
//! 503 with an `ApiError` while the database does not answer (a real outage:
//! the connection to PostgreSQL cut) or once delivery is stopped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::{Harness, assert_api_error, fresh_schema_url, json, test_config};
use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

async fn probe(h: &Harness, path: &str) -> reqwest::Response {
    let url = format!("http://{}{path}", h.server.local_addr());
    h.http.get(url).send().await.unwrap()
}

#[tokio::test]
async fn both_probes_answer_200_without_credentials_on_a_healthy_server() {
    let h = Harness::start().await;
    let health = probe(&h, "/health").await;
    assert!(health.headers().contains_key("x-tlx-request-id"));
    assert!(health.headers().contains_key("x-rate-limit-remaining"));
    assert_eq!(
        json(health).await,
        (200, json!({"value": {"status": "UP"}}))
    );
    assert_eq!(
        json(probe(&h, "/ready").await).await,
        (
            200,
            json!({"value": {"status": "READY", "database": "UP", "delivery": "RUNNING"}})
        )
    );
    // Only at the root, and only GET.
    let (status, _) = json(h.anonymous(Method::GET, "/health").send().await.unwrap()).await;
    assert_eq!(status, 404);
    let url = format!("http://{}/ready", h.server.local_addr());
    let (status, _) = json(h.http.post(url).send().await.unwrap()).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn ready_is_503_once_delivery_stopped() {
    let mut h = Harness::start().await;
    h.server.stop_delivery().await;
    let body = assert_api_error(probe(&h, "/ready").await, 503, 1000).await;
    assert_eq!(body["message"], "Not ready: delivery is stopped.", "{body}");
    assert_eq!(json(probe(&h, "/health").await).await.0, 200);
}

#[tokio::test]
async fn ready_is_503_while_postgresql_is_unreachable_and_200_when_it_is_back() {
    let Some(database) = test_support::services::url("DATABASE_URL") else {
        return;
    };
    // The schema is made directly; the server reaches it through the proxy.
    let mut url = url::Url::parse(&fresh_schema_url(&database)).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(upstream).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let mut config = test_config();
    config.database_url = url.to_string();
    let h = Harness::with_config(config).await;
    assert_eq!(json(probe(&h, "/ready").await).await.0, 200);

    proxy.cut(true);
    let body = test_support::eventually("/ready to answer 503", || async {
        let response = probe(&h, "/ready").await;
        (response.status() == 503).then_some(response)
    })
    .await;
    let body = assert_api_error(body, 503, 1000).await;
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("Not ready: the database"), "{body}");
    assert_eq!(json(probe(&h, "/health").await).await.0, 200);

    proxy.cut(false);
    test_support::eventually("/ready to answer 200 again", || async {
        (probe(&h, "/ready").await.status() == 200).then_some(())
    })
    .await;
}

/// A TCP proxy on loopback in front of PostgreSQL that can cut every
/// connection and refuse new ones, as a database host that went away.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(watch::Sender::new(false));
        let shared = Arc::clone(&cut);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *shared.borrow() {
                    continue; // dropped: the connection closes at once
                }
                tokio::spawn(forward(client, upstream.clone(), shared.subscribe()));
            }
        });
        Self { addr, cut }
    }

    fn cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

async fn forward(mut client: TcpStream, upstream: String, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
