//! The dispatcher behind the layer, as an axum handler and as a tower
//! service: typed routes, event-name routes, fallback, failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{post, post_service};
use common::{envelope, open_config, product};
use serde_json::json;
use tower::ServiceExt as _;
use tripletex_webhooks_receiver::test_util::{SignedRequest, webhook};
use tripletex_webhooks_receiver::{Dispatched, Dispatcher, TripletexWebhookLayer, Webhook};
use tripletex_webhooks_types::{EventType, ObjectChange, Subject, Verb};

type Log = Arc<Mutex<Vec<String>>>;

fn dispatcher(log: &Log) -> Dispatcher {
    let (products, orders, fallback, charged) =
        (log.clone(), log.clone(), log.clone(), log.clone());
    let deletes = log.clone();
    Dispatcher::new()
        .on_product(move |change| {
            let log = products.clone();
            async move {
                let what = match &change.payload {
                    ObjectChange::Created(p) => format!("created {:?}", p.name),
                    ObjectChange::Updated(p) => format!("updated {:?}", p.name),
                    ObjectChange::Deleted => "deleted".to_owned(),
                };
                log.lock().unwrap().push(format!(
                    "product {} {what} v{:?} first={}",
                    change.id,
                    change.delivery.version(),
                    change.delivery.is_first()
                ));
            }
        })
        .on_order(move |change| {
            let log = orders.clone();
            async move {
                if change
                    .payload
                    .object()
                    .is_some_and(|o| o.extra.contains_key("fail"))
                {
                    return Err("the order system is down");
                }
                log.lock().unwrap().push(format!("order {}", change.id));
                Ok(())
            }
        })
        .on(
            EventType::new(Subject::Order, Verb::Delete),
            move |webhook: Webhook| {
                let log = deletes.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push(format!("order.delete {}", webhook.event().id));
                }
            },
        )
        .on_invoice_charged(move |invoice| {
            let log = charged.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("invoice {} charged", invoice.id));
            }
        })
        .fallback(move |webhook: Webhook| {
            let log = fallback.clone();
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("fallback {}", webhook.event().event));
            }
        })
}

async fn send(app: &Router, body: serde_json::Value) -> StatusCode {
    let request = SignedRequest::from_json(&body)
        .with_uri("/hook")
        .into_request();
    app.clone().oneshot(request).await.unwrap().status()
}

async fn scenario(app: Router, log: &Log) {
    assert_eq!(
        send(&app, product("product.create", 1, 0)).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, product("product.create", 1, 0)).await,
        StatusCode::OK,
        "duplicate"
    );
    assert_eq!(
        send(&app, envelope("product.delete", 1, json!(null))).await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            envelope("order.update", 2, json!({"id": 2, "version": 1}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, envelope("order.delete", 2, json!(null))).await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            envelope("invoice.charged", 5, json!({"id": 5, "version": 0}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &app,
            envelope("timesheetEntry.approve", 9, json!({"id": 9}))
        )
        .await,
        StatusCode::OK
    );
    // A failing handler answers 500, records nothing, and the retry runs again.
    let failing = envelope(
        "order.update",
        3,
        json!({"id": 3, "version": 1, "fail": true}),
    );
    assert_eq!(
        send(&app, failing.clone()).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(send(&app, failing).await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        send(
            &app,
            envelope("order.update", 3, json!({"id": 3, "version": 1}))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "product 1 created Some(\"Product 1 v0\") vSome(0) first=true",
            "product 1 deleted vNone first=true",
            "order 2",
            "order.delete 2",
            "invoice 5 charged",
            "fallback timesheetEntry.approve",
            "order 3",
        ]
    );
}

#[tokio::test]
async fn as_an_axum_handler() {
    let log = Log::default();
    let config = open_config();
    let app = Router::new()
        .route("/hook", post(dispatcher(&log)))
        .layer(TripletexWebhookLayer::new(config.clone()));
    scenario(app, &log).await;
    assert_eq!(config.snapshot().handler_failed, 2);
}

#[tokio::test]
async fn as_a_tower_service() {
    let log = Log::default();
    let app = Router::new()
        .route("/hook", post_service(dispatcher(&log)))
        .layer(TripletexWebhookLayer::new(open_config()));
    scenario(app, &log).await;
}

#[tokio::test]
async fn unrouted_events_are_acknowledged() {
    let dispatcher = Dispatcher::new().on_customer(|_| async {});
    let delivery = webhook(
        envelope("product.create", 1, json!({"id": 1}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        dispatcher.dispatch(delivery).await.unwrap(),
        Dispatched::Unrouted
    );
    let delivery = webhook(
        envelope("customer.delete", 1, json!(null))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        dispatcher.dispatch(delivery).await.unwrap(),
        Dispatched::Handled
    );

    let app = Router::new()
        .route("/hook", post(dispatcher))
        .layer(TripletexWebhookLayer::new(open_config()));
    assert_eq!(
        send(&app, product("product.update", 1, 1)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_the_layer_it_is_a_500() {
    let app = Router::new().route("/hook", post(Dispatcher::new()));
    assert_eq!(
        send(&app, product("product.update", 1, 1)).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn event_routes_take_names_this_crate_does_not_know_before_typed_routes() {
    let log = Log::default();
    let (approved, updated) = (log.clone(), log.clone());
    let dispatcher = Dispatcher::new()
        .on_product(|_| async { Err("the typed route must not run") })
        .on(
            "timesheetEntry.approve".parse().unwrap(),
            move |webhook: Webhook| {
                let log = approved.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push(format!("approved {}", webhook.event().id));
                }
            },
        )
        .on(
            "product.update".parse().unwrap(),
            move |webhook: Webhook| {
                let log = updated.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push(format!("updated {}", webhook.event().id));
                }
            },
        );
    for body in [
        envelope("timesheetEntry.approve", 9, json!({"id": 9})),
        product("product.update", 4, 1),
    ] {
        let delivery = webhook(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            dispatcher.dispatch(delivery).await.unwrap(),
            Dispatched::Handled
        );
    }
    // Another verb of the same subject is not the named event: the typed route fails.
    let create = webhook(product("product.create", 4, 0).to_string().as_bytes()).unwrap();
    assert!(dispatcher.dispatch(create).await.is_err());
    assert_eq!(*log.lock().unwrap(), ["approved 9", "updated 4"]);
    let debug = format!("{dispatcher:?}");
    assert!(
        debug.contains("product.update") && debug.contains("timesheetEntry.approve"),
        "{debug}"
    );
}
