//! End to end against the bundled server: it delivers real, signed webhooks
//! into an axum app behind the layer; the handler sees each typed event once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tripletex_webhooks_receiver::{MetricsSnapshot, TripletexWebhookLayer, Webhook, WebhookConfig};
use tripletex_webhooks_server::{RunningServer, ServerConfig};
use tripletex_webhooks_types::secrecy::ExposeSecret;
use tripletex_webhooks_types::{EventPayload, ObjectChange};

const SECRET: &str = "a-very-shared-secret";

/// Polls the receiver's counters (bounded) until `done` holds.
async fn wait_for(config: &WebhookConfig, what: &str, done: impl Fn(MetricsSnapshot) -> bool) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + common::WITHIN;
    loop {
        tick.tick().await;
        if done(config.snapshot()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            config.snapshot()
        );
    }
}

#[tokio::test]
async fn the_bundled_server_delivers_into_the_layer() {
    // The integration's receiver: custom header + HMAC, as subscribed below.
    let config = WebhookConfig::builder()
        .header_auth("X-Api-Key", "key-abc")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let (sender, mut received) = mpsc::unbounded_channel::<Webhook>();
    let app = Router::new()
        .route(
            "/hooks/tripletex",
            post(move |webhook: Webhook| {
                let sender = sender.clone();
                async move {
                    sender.send(webhook).unwrap();
                    StatusCode::OK
                }
            }),
        )
        .layer(TripletexWebhookLayer::new(config.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/hooks/tripletex", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The bundled Tripletex.
    let server = RunningServer::start(ServerConfig::for_tests())
        .await
        .unwrap();
    let token = server.create_session_token(0).await.unwrap();
    let http = reqwest::Client::new();
    let api = |method: Method, path: &str| {
        http.request(method, format!("{}{path}", server.base_url()))
            .basic_auth("0", Some(token.expose_secret()))
    };
    let subscribe = |event: &str, secret: &str| {
        let body = json!({"event": event, "targetUrl": target,
                          "authHeaderName": "X-Api-Key", "authHeaderValue": "key-abc",
                          "hmacSharedSecret": secret});
        let request = api(Method::POST, "/event/subscription").json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 201);
            let created: Value = response.json().await.unwrap();
            created["value"]["id"].as_i64().unwrap()
        }
    };
    // Two valid subscriptions to the same event: one object version, two deliveries.
    subscribe("product.create", SECRET).await;
    subscribe("product.create", SECRET).await;
    // And one with the wrong secret: refused.
    let refused = subscribe("product.create", "not-the-secret").await;
    subscribe("product.update", SECRET).await;

    let response = api(Method::POST, "/product")
        .json(&json!({"name": "Espresso", "number": "E1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["value"]["id"].as_i64().unwrap();

    wait_for(&config, "the create from three subscriptions", |s| {
        s.accepted == 1 && s.duplicate == 1 && s.unauthorized == 1
    })
    .await;
    let webhook = received.recv().await.unwrap();
    assert_eq!(webhook.event().event.to_string(), "product.create");
    assert_eq!(webhook.event().id, id);
    match &webhook.event().payload {
        EventPayload::Product(ObjectChange::Created(product)) => {
            assert_eq!(product.name.as_deref(), Some("Espresso"));
            assert_eq!(product.version, Some(0));
        }
        other => panic!("unexpected payload {other:?}"),
    }
    assert!(webhook.delivery().is_first());
    assert!(webhook.delivery().idempotency_key().is_some());
    assert_eq!(
        serde_json::from_slice::<Value>(webhook.raw_body()).unwrap()["value"]["name"],
        "Espresso"
    );

    let response = api(Method::PUT, &format!("/product/{id}"))
        .json(&json!({"name": "Doppio"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    wait_for(&config, "the update", |s| s.accepted == 2).await;
    let webhook = received.recv().await.unwrap();
    match &webhook.event().payload {
        EventPayload::Product(ObjectChange::Updated(product)) => {
            assert_eq!(product.name.as_deref(), Some("Doppio"));
            assert_eq!(product.version, Some(1));
        }
        other => panic!("unexpected payload {other:?}"),
    }

    // The server's own log: every delivery answered (the refused one's retry
    // is a minute away), so each of its attempts has been through the layer.
    let log = format!("http://{}/_emulator/deliveries", server.local_addr());
    let deliveries = common::eventually("the server to settle every delivery", || async {
        let log: Value = http
            .get(&log)
            .basic_auth("0", Some(token.expose_secret()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let deliveries = log["values"].as_array()?.clone();
        let settled = deliveries.iter().all(|delivery| {
            delivery["status"] == "delivered"
                || (delivery["subscriptionId"] == refused
                    && delivery["attempts"].as_i64() >= Some(1))
        });
        (deliveries.len() == 4 && settled).then_some(deliveries)
    })
    .await;
    let attempts: u64 = deliveries
        .iter()
        .map(|delivery| delivery["attempts"].as_u64().unwrap())
        .sum();
    // Each typed event was seen exactly once.
    assert!(
        received.try_recv().is_err(),
        "no second delivery reached the handler"
    );
    let snapshot = config.snapshot();
    assert_eq!(
        (snapshot.accepted, snapshot.duplicate, snapshot.malformed),
        (2, 1, 0)
    );
    assert_eq!(
        attempts,
        snapshot.accepted + snapshot.duplicate + snapshot.unauthorized,
        "every attempt the server made was answered by the layer: {deliveries:?}"
    );
    server.shutdown().await;
}
