//! [`TripletexWebhookLayer`]: the tower middleware around [`Receiver`].

use std::future::Future;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::response::IntoResponse;
use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::body::{ReadError, read_limited};
use crate::config::WebhookConfig;
use crate::core::{Admission, CheckedHead, Receiver};
use crate::error::{BadRequest, BoxError, Rejection};
use crate::future::ResponseFuture;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::inbox::{Inbox, worker::InboxRun};
use crate::metrics::Metrics;

/// Authenticates, decodes and deduplicates Tripletex webhooks in front of a
/// handler.
///
/// For each request, in order:
///
/// 1. authentication of the head (custom header, Basic, query token, presence
///    of the signature): **401** (with `WWW-Authenticate: Basic` when Basic is
///    configured; the body never says which check failed), then **405** for
///    anything but `POST`, **413** when `Content-Length` exceeds the limit;
/// 2. the body is read up to the limit (**413** beyond it), the HMAC checked
///    on the exact bytes (**401**), `Content-Type` must be JSON (**415**), the
///    body must decode into a [`TripletexEvent`](tripletex_webhooks_types::TripletexEvent)
///    (**400**: not an envelope, a delete with a value, a create without one...);
/// 3. under a per-object lock, the [`DedupStore`](crate::DedupStore) is asked
///    to claim the object (**503** if it fails): a stale or duplicate delivery
///    gets **200** without calling the handler; one whose object another
///    route or replica over the same store is handling waits up to the
///    [claim wait](crate::WebhookConfigBuilder::claim_wait), then gets **503**
///    with `Retry-After`;
/// 4. otherwise the [`Webhook`](crate::Webhook) goes into the request
///    extensions and the inner service runs with the raw body. A 2xx answer
///    records the version; anything else records nothing (so Tripletex
///    retries), releases the claim and is passed on unchanged.
///
/// ```
/// use axum::{Router, http::StatusCode, routing::post};
/// use tripletex_webhooks_receiver::{TripletexWebhookLayer, Webhook, WebhookConfig};
///
/// async fn handler(webhook: Webhook) -> StatusCode {
///     let event = webhook.event();
///     println!("{} about {}", event.event, event.object_key());
///     StatusCode::OK
/// }
///
/// # fn main() -> Result<(), tripletex_webhooks_receiver::ConfigError> {
/// let config = WebhookConfig::builder()
///     .header_auth("X-Tripletex-Token", "token-from-the-subscription")
///     .hmac_secret("hmac-shared-secret")
///     .body_limit(256 * 1024)
///     .build()?;
/// let layer = TripletexWebhookLayer::new(config);
/// let metrics = layer.config().clone();
/// let app: Router = Router::new()
///     .route("/webhooks/tripletex", post(handler))
///     .layer(layer);
/// assert_eq!(metrics.snapshot().accepted, 0);
/// # Ok(()) }
/// ```
///
/// `Router::layer` also wraps the router's fallback; use `route_layer` or a
/// router of its own when other routes must not require webhook
/// authentication.
#[derive(Debug, Clone)]
pub struct TripletexWebhookLayer {
    receiver: Receiver,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    inbox: Option<Inbox>,
}

impl TripletexWebhookLayer {
    /// A layer with this configuration.
    pub fn new(config: WebhookConfig) -> Self {
        Self {
            receiver: Receiver::new(config),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            inbox: None,
        }
    }

    /// The same layer acknowledging into a durable [`Inbox`]: once a
    /// delivery is authenticated and decoded, it is stored and answered
    /// **200** (**503** if the write fails, so Tripletex retries); the inner
    /// service runs later, from the inbox's workers
    /// ([`Inbox::start`]), with dedup, retries and dead letters. See
    /// [`inbox`](crate::inbox).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[must_use]
    pub fn inbox(mut self, inbox: Inbox) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// The configuration (clone it to keep reading the counters).
    pub fn config(&self) -> &WebhookConfig {
        self.receiver.config()
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        self.receiver.metrics()
    }
}

impl<S> Layer<S> for TripletexWebhookLayer {
    type Service = TripletexWebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TripletexWebhookService {
            inner,
            receiver: self.receiver.clone(),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            inbox: self.inbox.clone(),
        }
    }
}

/// The service [`TripletexWebhookLayer`] wraps around an inner service.
///
/// Accepts any request body; the inner service gets an axum [`Body`] holding
/// the raw bytes, with the [`Webhook`](crate::Webhook) in the extensions.
#[derive(Debug, Clone)]
pub struct TripletexWebhookService<S> {
    inner: S,
    receiver: Receiver,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    inbox: Option<Inbox>,
}

impl<S> TripletexWebhookService<S> {
    /// Wraps `inner` directly (what the layer does).
    pub fn new(inner: S, config: WebhookConfig) -> Self {
        Self {
            inner,
            receiver: Receiver::new(config),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            inbox: None,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for TripletexWebhookService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(unused_mut))]
        let (mut parts, body) = request.into_parts();
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        if let Some(InboxRun(webhook)) = parts.extensions.remove::<InboxRun>() {
            // From the inbox's workers: checked when it was received.
            let body = Body::from(webhook.raw_body().clone());
            parts.extensions.insert(webhook);
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let request = Request::from_parts(parts, body);
            return ResponseFuture::running(async move {
                Ok(inner.call(request).await?.map(Body::new))
            });
        }
        let head = match self.receiver.check_head(&parts) {
            Ok(head) => head,
            // Refused before the body is read: nothing to allocate or await.
            Err(rejection) => return ResponseFuture::ready(rejection.into_response()),
        };
        let receiver = self.receiver.clone();
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        if let Some(inbox) = self.inbox.clone() {
            // The inner service runs later, from the inbox's workers.
            return ResponseFuture::running(into_inbox(receiver, inbox, parts, head, body));
        }
        // The ready service handles this request; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::running(handle(receiver, inner, parts, head, body))
    }
}

/// The rest of a request once its head passed: read and admit the body, run
/// the inner service, report its outcome.
///
/// This future is allocated per request, so it is kept under a kilobyte,
/// which glibc's malloc serves from a per-thread cache (larger blocks take
/// its slow path: consolidation and an arena lock, measurable under load):
/// an `async move` block rather than an `async fn` (whose arguments are
/// copied into locals), and the receiver's own futures (about 700 bytes
/// each) and the commit held across the inner service boxed.
#[allow(clippy::manual_async_fn)] // on purpose: see above
fn handle<S, B, ResBody>(
    receiver: Receiver,
    mut inner: S,
    mut parts: Parts,
    head: CheckedHead,
    body: B,
) -> impl Future<Output = Result<Response<Body>, S::Error>>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    B: HttpBody,
    B::Error: Into<BoxError>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    async move {
        let bytes = match read_body(&receiver, body).await {
            Ok(bytes) => bytes,
            Err(rejection) => return Ok(rejection.into_response()),
        };
        let admitted = match Box::pin(receiver.admit(head, bytes.clone())).await {
            Ok(Admission::Deliver(admitted)) => admitted,
            Ok(Admission::Acknowledge(_)) => return Ok(StatusCode::OK.into_response()),
            Err(rejection) => return Ok(rejection.into_response()),
        };
        let (webhook, commit) = admitted.into_parts();
        // Held while the inner service runs: boxed to keep this future small.
        let commit = Box::new(commit);
        parts.extensions.insert(webhook);
        // An error from the inner service drops the commit: nothing is recorded.
        let response = inner
            .call(Request::from_parts(parts, Body::from(bytes)))
            .await?;
        if response.status().is_success() {
            // A store error was logged and counted; the handler's answer stands.
            let _ = Box::pin(commit.success()).await;
        } else {
            Box::pin(commit.failure()).await;
        }
        Ok(response.map(Body::new))
    }
}

/// With an inbox: read and verify the body, store it, answer 200.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn into_inbox<B, E>(
    receiver: Receiver,
    inbox: Inbox,
    parts: Parts,
    mut head: CheckedHead,
    body: B,
) -> Result<Response<Body>, E>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let bytes = match read_body(&receiver, body).await {
        Ok(bytes) => bytes,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let decoded = match receiver.verify(&mut head, &bytes).await {
        Ok(decoded) => decoded,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    // Decoding succeeded, so the body is JSON, hence UTF-8.
    let Ok(text) = std::str::from_utf8(&bytes) else {
        let rejection = Rejection::BadRequest(BadRequest::UnreadableBody);
        return Ok(receiver.malformed(rejection).into_response());
    };
    let stored = inbox
        .store(&decoded, head.idempotency_key(), parts.uri.path(), text)
        .await;
    Ok(match stored {
        Ok(_) => StatusCode::OK.into_response(),
        Err(error) => {
            tracing::error!(target: crate::core::TARGET, %error, "storing in the inbox failed; answering 503");
            Rejection::StoreUnavailable(error.into()).into_response()
        }
    })
}

/// Reads the body up to the limit: 413 beyond it, 400 if unreadable.
async fn read_body<B>(receiver: &Receiver, body: B) -> Result<Bytes, Rejection>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    match read_limited(body, receiver.config().body_limit()).await {
        Ok(bytes) => Ok(bytes),
        Err(ReadError::TooLarge) => Err(receiver.too_large()),
        Err(ReadError::Unreadable) => {
            Err(receiver.malformed(Rejection::BadRequest(BadRequest::UnreadableBody)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// glibc's malloc serves blocks up to 1,032 bytes from its per-thread
    /// cache; the future allocated per request must stay under that (it was
    /// 3,008 bytes with the typed event inline).
    #[test]
    fn the_per_request_future_fits_the_allocators_thread_cache() {
        let receiver = Receiver::new(
            WebhookConfig::builder()
                .allow_unauthenticated()
                .build()
                .unwrap(),
        );
        let inner = axum::Router::new().route("/", axum::routing::post(|| async { "" }));
        let (parts, body) = Request::post("/").body(Body::empty()).unwrap().into_parts();
        let head = receiver.check_head(&parts).unwrap();
        let future = handle(receiver, inner, parts, head, body);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1_032, "{size} bytes");
    }
}
