//! The futures of this crate's services, named in their `Future` types (as
//! tower-http does): [`ResponseFuture`] of
//! [`TripletexWebhookService`](crate::TripletexWebhookService),
//! [`DispatchFuture`] and [`DispatchServiceFuture`] of
//! [`Dispatcher`](crate::Dispatcher).

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;

/// A boxed future of a response or an error.
type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The response future of [`TripletexWebhookService`](crate::TripletexWebhookService).
pub struct ResponseFuture<E> {
    state: State<E>,
}

enum State<E> {
    /// Refused from the head alone.
    Ready(Ready<Result<Response<Body>, E>>),
    Running(Boxed<Result<Response<Body>, E>>),
}

impl<E> ResponseFuture<E> {
    /// A response decided without reading the body.
    pub(crate) fn ready(response: Response<Body>) -> Self {
        Self {
            state: State::Ready(std::future::ready(Ok(response))),
        }
    }

    /// The rest of the request, running.
    pub(crate) fn running(
        future: impl Future<Output = Result<Response<Body>, E>> + Send + 'static,
    ) -> Self {
        Self {
            state: State::Running(Box::pin(future)),
        }
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            State::Ready(ready) => Pin::new(ready).poll(cx),
            State::Running(running) => running.as_mut().poll(cx),
        }
    }
}

/// The future of the [`Dispatcher`](crate::Dispatcher) as an axum handler:
/// the response.
pub struct DispatchFuture {
    inner: Boxed<Response>,
}

impl DispatchFuture {
    pub(crate) fn new(future: impl Future<Output = Response> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl fmt::Debug for DispatchFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchFuture").finish_non_exhaustive()
    }
}

impl Future for DispatchFuture {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        self.inner.as_mut().poll(cx)
    }
}

/// The future of the [`Dispatcher`](crate::Dispatcher) as a tower service:
/// the response, never an error.
#[derive(Debug)]
pub struct DispatchServiceFuture(pub(crate) DispatchFuture);

impl Future for DispatchServiceFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}
