//! The accept loop: each connection served by hyper behind the head guard
//! ([`crate::http::conn`]), with hyper's limits above the guard's, and a
//! graceful shutdown that stops accepting, lets every connection finish the
//! request it is serving, and waits for them all.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::http::conn::{GuardedIo, HYPER_MAX_BUF_SIZE, HYPER_MAX_HEADERS, Refusals};

/// After an accept error that is not about one connection (such as too many
/// open files), accepting pauses this long rather than spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` completes, then shuts down
/// gracefully.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let builder = Arc::new(builder());
    let (draining, draining_rx) = watch::channel(false);
    // Every connection task holds a receiver; `closed` fires when all are gone.
    let (open, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            router.clone(),
            Arc::clone(&builder),
            draining_rx.clone(),
            open_rx.clone(),
        ));
    }
    drop(listener);
    draining.send_replace(true);
    drop(open_rx);
    open.closed().await;
}

fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(HYPER_MAX_BUF_SIZE)
        .max_headers(HYPER_MAX_HEADERS);
    // HTTP/2 heads are checked by the middleware; the h2 layer's own limit
    // (16 KiB by default, answered with a bare 431) sits above its limits.
    builder
        .http2()
        .max_header_list_size(u32::try_from(HYPER_MAX_BUF_SIZE).unwrap_or(u32::MAX));
    builder
}

async fn connection(
    stream: TcpStream,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    mut draining: watch::Receiver<bool>,
    open: watch::Receiver<()>,
) {
    let refusals = Refusals::new();
    let peer = stream.peer_addr().ok();
    let io = TokioIo::new(GuardedIo::new(stream, refusals.clone()));
    let service = ConnectionService {
        router,
        refusals,
        peer,
    };
    let mut connection = pin!(builder.serve_connection(io, service));
    tokio::select! {
        result = connection.as_mut() => {
            finished(result);
            drop(open);
            return;
        }
        _ = draining.wait_for(|draining| *draining) => {}
    }
    connection.as_mut().graceful_shutdown();
    finished(connection.await);
    drop(open);
}

fn finished(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::trace!(%error, "connection ended with an error");
    }
}

/// Errors about one connection (reset before it was accepted) are skipped;
/// others (out of file descriptors) pause accepting.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

/// The router, as one connection's hyper service: requests are tagged with
/// the connection's refusal and its peer's address (as axum's
/// [`ConnectInfo`]) before they reach it.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    refusals: Refusals,
    peer: Option<SocketAddr>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let mut request: Request = request.map(Body::new);
        self.refusals.tag(&mut request);
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        tower::Service::call(&mut self.router.clone(), request)
    }
}
