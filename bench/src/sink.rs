//! Loopback webhook targets: a [`Sink`] that records every arrival and
//! answers 200 (or 503 while refusing), and a [`Blackhole`] that accepts
//! connections and never answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::Res;

/// The envelope's object id: all a sink needs to match arrivals with sends.
#[derive(serde::Deserialize)]
struct Arrival {
    id: i64,
}

#[derive(Default)]
struct Shared {
    arrivals: Mutex<Vec<(i64, Instant)>>,
    count: watch::Sender<usize>,
    refusing: AtomicBool,
}

/// An axum receiver on 127.0.0.1 that parses each envelope's `id`, records
/// when it arrived and answers 200, or 503 `Retry-After: 3600` while
/// [`refuse`](Self::refuse) is on. Stops (gracefully) when dropped.
pub(crate) struct Sink {
    shared: Arc<Shared>,
    url: String,
    stop: Option<oneshot::Sender<()>>,
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let now = Instant::now();
    if shared.refusing.load(Ordering::SeqCst) {
        shared.count.send_modify(|c| *c += 1);
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "3600")]).into_response();
    }
    if let Ok(arrival) = serde_json::from_slice::<Arrival>(&body) {
        shared
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((arrival.id, now));
    }
    shared.count.send_modify(|c| *c += 1);
    StatusCode::OK.into_response()
}

impl Sink {
    pub(crate) async fn start() -> Res<Self> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            shared,
            url,
            stop: Some(stop),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// While on, every request is answered 503 `Retry-After: 3600`.
    pub(crate) fn refuse(&self, on: bool) {
        self.shared.refusing.store(on, Ordering::SeqCst);
    }

    /// Requests received so far (refused ones included).
    pub(crate) fn count(&self) -> usize {
        *self.shared.count.borrow()
    }

    /// Starts counting requests from zero again.
    pub(crate) fn reset_count(&self) {
        self.shared.count.send_replace(0);
    }

    /// Waits until `n` requests arrived, at most `limit`.
    pub(crate) async fn wait_for(&self, n: usize, limit: Duration) -> Res<()> {
        let mut count = self.shared.count.subscribe();
        match tokio::time::timeout(limit, count.wait_for(|c| *c >= n)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.into()),
            Err(_) => Err(format!(
                "only {} of {n} deliveries arrived within {limit:?}",
                self.count()
            )
            .into()),
        }
    }

    /// The recorded arrivals: object id and when it arrived.
    pub(crate) fn arrivals(&self) -> Vec<(i64, Instant)> {
        self.shared
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never reads
/// or answers: a target that hangs until the sender's timeout. Dropping it
/// closes every connection it holds.
pub(crate) struct Blackhole {
    url: String,
    task: JoinHandle<()>,
}

impl Blackhole {
    pub(crate) async fn start() -> Res<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            // Bounded by the connections the server opens (its per-target
            // limit), and ended by `Drop`.
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Ok(Self { url, task })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}
