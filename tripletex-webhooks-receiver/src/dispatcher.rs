//! [`Dispatcher`]: route deliveries to typed handlers, by subject or by event name.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{Request, StatusCode};
use tower::Service;
use tripletex_webhooks_types::models::{
    Account, ArchiveRelation, CloseGroup, Contact, Customer, Employee, Invoice, Notification,
    Order, Product, Project, Supplier, Voucher, VoucherStatus,
};
use tripletex_webhooks_types::{EventPayload, EventType, ObjectChange};

use crate::core::TARGET;
use crate::error::{BoxError, MissingWebhook};
use crate::extract::{Delivery, Webhook};
use crate::future::{DispatchFuture, DispatchServiceFuture};

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type Route = Arc<dyn Fn(Webhook) -> HandlerFuture + Send + Sync>;

/// Routes each delivery to one handler: by exact event
/// ([`on`](Self::on), with an [`EventType`]), else by payload type ([`on_product`](Self::on_product)
/// and friends, covering create, update and delete), else the
/// [`fallback`](Self::fallback). A delivery no route takes is acknowledged
/// (200) and logged at debug level.
///
/// A handler returns `()` or `Result<(), E>` with `E` convertible to a boxed
/// error. An `Err` answers 500 (the error goes to tracing, not to the peer),
/// so nothing is recorded and Tripletex retries.
///
/// It is an axum handler (`post(dispatcher)`) and a tower service
/// (`post_service(dispatcher)`), in both cases behind
/// [`TripletexWebhookLayer`](crate::TripletexWebhookLayer).
///
/// ```
/// use axum::{Router, routing::post};
/// use tripletex_webhooks_receiver::{Dispatcher, TripletexWebhookLayer, Webhook, WebhookConfig};
/// use tripletex_webhooks_types::{EventType, ObjectChange, Subject, Verb};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dispatcher = Dispatcher::new()
///     .on_product(|change| async move {
///         match &change.payload {
///             ObjectChange::Created(product) | ObjectChange::Updated(product) => {
///                 println!("product {} is now {:?}", change.id, product.name);
///             }
///             ObjectChange::Deleted => println!("product {} deleted", change.id),
///         }
///     })
///     .on(EventType::new(Subject::Order, Verb::Delete), |webhook: Webhook| async move {
///         println!("order {} deleted", webhook.event().id);
///         Ok::<_, std::io::Error>(())
///     })
///     // A name this crate does not know yet, parsed once, here.
///     .on("timesheetEntry.approve".parse()?, |webhook: Webhook| async move {
///         println!("approved: {}", webhook.event().id);
///     })
///     .fallback(|webhook: Webhook| async move {
///         println!("unrouted {}", webhook.event().event);
///     });
///
/// let config = WebhookConfig::builder().hmac_secret("shared-secret").build()?;
/// let app: Router = Router::new()
///     .route("/webhooks/tripletex", post(dispatcher))
///     .layer(TripletexWebhookLayer::new(config));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Dispatcher {
    routes: Arc<Routes>,
}

#[derive(Clone, Default)]
struct Routes {
    events: HashMap<EventType, Route>,
    typed: HashMap<&'static str, Route>,
    fallback: Option<Route>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut events: Vec<_> = self.routes.events.keys().map(ToString::to_string).collect();
        events.sort();
        let mut typed: Vec<_> = self.routes.typed.keys().collect();
        typed.sort();
        f.debug_struct("Dispatcher")
            .field("events", &events)
            .field("typed", &typed)
            .field("fallback", &self.routes.fallback.is_some())
            .finish()
    }
}

/// What a handler may return: `()` (always succeeds) or `Result<(), E>`.
pub trait HandlerOutcome {
    /// The outcome as a result.
    fn into_result(self) -> Result<(), BoxError>;
}

impl HandlerOutcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HandlerOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// A delivery with its payload already matched to one type, for the typed
/// handlers ([`Dispatcher::on_product`] and friends).
///
/// The envelope's fields and the payload are fields of their own: `id` is
/// the envelope's, `payload.id` the model's (where it has one).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TypedWebhook<P> {
    /// The id of the object the event is about (the only thing a delete carries).
    pub id: i64,
    /// The subscription this delivery is for.
    pub subscription_id: i64,
    /// The event name.
    pub event: EventType,
    /// The typed payload.
    pub payload: P,
    /// What the receiver decided about the delivery.
    pub delivery: Delivery,
    /// The body exactly as received.
    pub raw_body: Bytes,
}

/// How [`Dispatcher::dispatch`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// A handler ran and succeeded.
    Handled,
    /// No route takes this event; it is acknowledged without handling.
    Unrouted,
}

fn boxed<Fut>(future: Fut) -> HandlerFuture
where
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutcome,
{
    Box::pin(async move { future.await.into_result() })
}

impl Dispatcher {
    /// A dispatcher with no routes.
    pub fn new() -> Self {
        Self::default()
    }

    fn routes(&mut self) -> &mut Routes {
        Arc::make_mut(&mut self.routes)
    }

    /// Handles `event` (such as `order.delete`, or a name this crate does
    /// not know yet, parsed with [`str::parse`]) with `handler`, before any
    /// typed route. Registering an event again replaces its handler.
    #[must_use]
    pub fn on<F, Fut>(mut self, event: EventType, handler: F) -> Self
    where
        F: Fn(Webhook) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerOutcome,
    {
        let route: Route = Arc::new(move |webhook| boxed(handler(webhook)));
        self.routes().events.insert(event, route);
        self
    }

    /// Handles every delivery no other route takes.
    #[must_use]
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Webhook) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerOutcome,
    {
        let route: Route = Arc::new(move |webhook| boxed(handler(webhook)));
        self.routes().fallback = Some(route);
        self
    }

    fn typed(mut self, kind: &'static str, route: Route) -> Self {
        self.routes().typed.insert(kind, route);
        self
    }

    /// Runs the handler the routes choose for `webhook`.
    pub async fn dispatch(&self, webhook: Webhook) -> Result<Dispatched, BoxError> {
        let routes = &self.routes;
        if let Some(route) = routes.events.get(&webhook.event.event) {
            return route(webhook).await.map(|()| Dispatched::Handled);
        }
        if let Some(route) = routes.typed.get(payload_kind(&webhook.event.payload)) {
            return route(webhook).await.map(|()| Dispatched::Handled);
        }
        if let Some(route) = &routes.fallback {
            return route(webhook).await.map(|()| Dispatched::Handled);
        }
        tracing::debug!(
            target: TARGET,
            event = %webhook.event.event,
            id = webhook.event.id,
            "no route for this event; acknowledged"
        );
        Ok(Dispatched::Unrouted)
    }

    /// Dispatches and answers: 200 when handled or unrouted, 500 when the
    /// handler failed.
    async fn respond(self, webhook: Webhook) -> Response {
        // For the log line if the handler fails (a known event clones without allocating).
        let (event, id) = (webhook.event.event.clone(), webhook.event.id);
        match self.dispatch(webhook).await {
            Ok(_) => StatusCode::OK.into_response(),
            Err(error) => {
                tracing::error!(target: TARGET, %event, id, %error, "webhook handler failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "webhook handler failed").into_response()
            }
        }
    }

    fn respond_to<B>(&self, mut request: Request<B>) -> DispatchFuture {
        let webhook = request.extensions_mut().remove::<Webhook>();
        let this = self.clone();
        DispatchFuture::new(async move {
            match webhook {
                Some(webhook) => this.respond(webhook).await,
                None => MissingWebhook.into_response(),
            }
        })
    }
}

/// Moves a typed payload into a [`TypedWebhook`] (`None` when it is another
/// variant, which routing by [`payload_kind`] rules out).
fn typed_parts<P>(
    webhook: Webhook,
    take: fn(EventPayload) -> Option<P>,
) -> Option<TypedWebhook<P>> {
    let (event, raw_body, delivery) = webhook.into_parts();
    Some(TypedWebhook {
        id: event.id,
        subscription_id: event.subscription_id,
        payload: take(event.payload)?,
        event: event.event,
        delivery,
        raw_body,
    })
}

/// How a route's payload comes out of its [`EventPayload`] variant: a change
/// as it is, a single object out of its box.
trait IntoRoutePayload<P> {
    fn into_route_payload(self) -> P;
}

impl<T> IntoRoutePayload<ObjectChange<T>> for ObjectChange<T> {
    fn into_route_payload(self) -> ObjectChange<T> {
        self
    }
}

impl<T> IntoRoutePayload<T> for Box<T> {
    fn into_route_payload(self) -> T {
        *self
    }
}

macro_rules! typed_routes {
    ($($(#[$doc:meta])* $method:ident => $variant:ident($payload:ty);)+) => {
        impl Dispatcher {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $method<F, Fut>(self, handler: F) -> Self
                where
                    F: Fn(TypedWebhook<$payload>) -> Fut + Send + Sync + 'static,
                    Fut: Future + Send + 'static,
                    Fut::Output: HandlerOutcome,
                {
                    fn take(payload: EventPayload) -> Option<$payload> {
                        match payload {
                            EventPayload::$variant(payload) => Some(payload.into_route_payload()),
                            _ => None,
                        }
                    }
                    let route: Route = Arc::new(move |webhook| match typed_parts(webhook, take) {
                        Some(typed) => boxed(handler(typed)),
                        None => Box::pin(async { Err("the payload does not match its route".into()) }),
                    });
                    self.typed(stringify!($variant), route)
                }
            )+
        }

        fn payload_kind(payload: &EventPayload) -> &'static str {
            match payload {
                $(EventPayload::$variant(_) => stringify!($variant),)+
                EventPayload::Unknown(_) => "Unknown",
            }
        }
    };
}

typed_routes! {
    /// Handles `product.create`, `product.update` and `product.delete`.
    on_product => Product(ObjectChange<Product>);
    /// Handles `order.create`, `order.update` and `order.delete`.
    on_order => Order(ObjectChange<Order>);
    /// Handles `customer.create`, `customer.update` and `customer.delete`.
    on_customer => Customer(ObjectChange<Customer>);
    /// Handles `supplier.create`, `supplier.update` and `supplier.delete`.
    on_supplier => Supplier(ObjectChange<Supplier>);
    /// Handles `employee.create`, `employee.update` and `employee.delete`.
    on_employee => Employee(ObjectChange<Employee>);
    /// Handles `contact.create`, `contact.update` and `contact.delete`.
    on_contact => Contact(ObjectChange<Contact>);
    /// Handles `project.create`, `project.update` and `project.delete`.
    on_project => Project(ObjectChange<Project>);
    /// Handles `account.create`, `account.update` and `account.delete` (ledger accounts).
    on_account => Account(ObjectChange<Account>);
    /// Handles `voucher.create`, `voucher.update` and `voucher.delete`.
    on_voucher => Voucher(ObjectChange<Voucher>);
    /// Handles `archiverelation.create`, `archiverelation.update` and `archiverelation.delete`.
    on_archive_relation => ArchiveRelation(ObjectChange<ArchiveRelation>);
    /// Handles `closeGroup.create` and `closeGroup.delete`.
    on_close_group => CloseGroup(ObjectChange<CloseGroup>);
    /// Handles `invoice.charged`.
    on_invoice_charged => InvoiceCharged(Invoice);
    /// Handles `notification.sent`.
    on_notification_sent => NotificationSent(Notification);
    /// Handles `voucherstatus.ready`.
    on_voucher_status_ready => VoucherStatusReady(VoucherStatus);
}

impl<B> Service<Request<B>> for Dispatcher {
    type Response = Response;
    type Error = Infallible;
    type Future = DispatchServiceFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        DispatchServiceFuture(self.respond_to(request))
    }
}

impl<S> Handler<(), S> for Dispatcher {
    type Future = DispatchFuture;

    fn call(self, request: Request<Body>, _state: S) -> DispatchFuture {
        self.respond_to(request)
    }
}
