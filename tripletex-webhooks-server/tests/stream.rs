//! The live stream (`GET /_emulator/stream`): an event per finished attempt
//! and per subscription status change, for the caller's company only, parsed
//! here with the client's SSE parser ([`EmulatorClient::stream`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::receiver::{Answer, Receiver};
use common::{Harness, assert_api_error, json};
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::json;
use test_support::WITHIN;
use test_support::net::RefusingPort;
use tripletex_webhooks_client::emulator::{
    DeliveryFilter, EmulatorClient, EventStream, StreamItem,
};
use tripletex_webhooks_client::types::SubscriptionStatus;
use tripletex_webhooks_client::types::emulator::{AttemptEvent, DeliveryStatus, StreamEvent};

async fn subscribe(h: &Harness, token: &secrecy::SecretString, event: &str, target: &str) -> i64 {
    let (status, body) = json(
        h.as_token(token, Method::POST, "/event/subscription")
            .json(&json!({"event": event, "targetUrl": target}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["value"]["id"].as_i64().unwrap()
}

/// The next event, within the bound.
async fn next(stream: &mut EventStream) -> StreamItem {
    tokio::time::timeout(WITHIN, stream.next())
        .await
        .expect("an event within the bound")
        .expect("the stream goes on")
        .expect("a well-formed event")
}

/// The next attempt event.
async fn next_attempt(stream: &mut EventStream) -> (Option<u64>, AttemptEvent) {
    loop {
        let item = next(stream).await;
        if let StreamEvent::Attempt(attempt) = item.event {
            return (item.id, *attempt);
        }
    }
}

#[tokio::test]
async fn an_attempt_is_streamed_after_a_product_is_created() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&h, &h.token, "product.create", &receiver.url("/hook")).await;
    let emulator = h.server.emulator().await.unwrap();
    let mut stream = emulator.stream().await.unwrap();

    let product = h.create("/product", &json!({"name": "Espresso"})).await;
    let (id, event) = next_attempt(&mut stream).await;

    assert!(id.is_some(), "attempts carry an id to resume from");
    let delivery = &event.delivery;
    assert_eq!(delivery.subscription_id, subscription);
    assert_eq!(delivery.event, "product.create");
    assert_eq!(delivery.object_id, product["id"].as_i64().unwrap());
    assert_eq!(delivery.status, DeliveryStatus::Delivered, "{delivery:?}");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.next_attempt_at_ms, None);
    assert_eq!(delivery.attempt_log.len(), 1);
    assert!(
        delivery.attempt_log[0].exchange.is_none(),
        "no bodies in the stream"
    );
    assert_eq!(event.attempt.number, 1);
    assert_eq!(event.attempt.status_code, Some(200));
    assert_eq!(event.attempt.error, None);
    assert_eq!(
        event.attempt.attempted_at_ms,
        delivery.attempt_log[0].attempted_at_ms
    );
    // The same message as the delivery log lists it.
    let listed = emulator
        .deliveries(&DeliveryFilter::new().subscription(subscription))
        .await
        .unwrap();
    assert_eq!(listed.values, std::slice::from_ref(&event.delivery));
}

#[tokio::test]
async fn a_failing_target_shows_the_error_and_the_next_attempt() {
    let h = Harness::start().await;
    let refusing = RefusingPort::bind();
    let target = format!("http://{}/hook", refusing.addr());
    subscribe(&h, &h.token, "product.create", &target).await;
    let emulator = h.server.emulator().await.unwrap();
    let mut stream = emulator.stream().await.unwrap();

    h.create("/product", &json!({"name": "Espresso"})).await;
    let (_, event) = next_attempt(&mut stream).await;

    assert_eq!(event.delivery.status, DeliveryStatus::Pending);
    assert_eq!(event.delivery.attempts, 1);
    let next_at = event.delivery.next_attempt_at_ms.expect("a next attempt");
    assert!(next_at > event.attempt.attempted_at_ms, "{event:?}");
    assert_eq!(event.attempt.status_code, None);
    assert!(event.attempt.error.is_some(), "{event:?}");

    // The retry, once the clock gets there, is attempt 2.
    emulator.advance(Duration::from_secs(3600)).await.unwrap();
    let (_, retry) = next_attempt(&mut stream).await;
    assert_eq!(retry.attempt.number, 2);
    assert_eq!(retry.delivery.attempts, 2);
}

#[tokio::test]
async fn a_subscription_disabled_by_failures_and_reenabled_shows_both_changes() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let subscription = subscribe(&h, &h.token, "product.create", &receiver.url("/hook")).await;
    let emulator = h.server.emulator().await.unwrap();
    let mut stream = emulator.stream().await.unwrap();

    h.create("/product", &json!({"name": "a"})).await;
    next_attempt(&mut stream).await;
    emulator
        .advance(Duration::from_secs(7 * 86_400))
        .await
        .unwrap();
    h.create("/product", &json!({"name": "b"})).await;

    let disabled = loop {
        if let StreamEvent::Subscription(change) = next(&mut stream).await.event {
            break change;
        }
    };
    assert_eq!(disabled.subscription.id, Some(subscription));
    assert_eq!(
        disabled.subscription.status,
        Some(SubscriptionStatus::DisabledTooManyErrors)
    );
    assert_eq!(disabled.previous_status, SubscriptionStatus::Active);
    assert_eq!(
        disabled.subscription.target_url.as_deref(),
        Some(receiver.url("/hook").as_str())
    );

    emulator
        .client()
        .subscriptions()
        .reenable(subscription)
        .await
        .unwrap();
    let reenabled = loop {
        if let StreamEvent::Subscription(change) = next(&mut stream).await.event {
            break change;
        }
    };
    assert_eq!(
        reenabled.subscription.status,
        Some(SubscriptionStatus::Active)
    );
    assert_eq!(
        reenabled.previous_status,
        SubscriptionStatus::DisabledTooManyErrors
    );
}

#[tokio::test]
async fn the_stream_requires_credentials() {
    let h = Harness::start().await;
    let url = format!("http://{}/_emulator/stream", h.server.local_addr());
    let response = h.http.get(&url).send().await.unwrap();
    assert_api_error(response, 401, 3000).await;

    let wrong = EmulatorClient::new(h.server.base_url(), "not-a-session-token").unwrap();
    let error = wrong.stream().await.expect_err("refused");
    assert!(error.is_auth(), "{error}");
    assert!(error.request_id().is_some(), "{error}");
}

#[tokio::test]
async fn another_companys_events_are_not_seen() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(&h, &h.token, "product.create", &receiver.url("/a")).await;
    let own = subscribe(&h, &h.other_token, "product.create", &receiver.url("/b")).await;
    let a = h.server.emulator().await.unwrap();
    let b = EmulatorClient::new(h.server.base_url(), h.other_token.clone()).unwrap();
    let mut a_stream = a.stream().await.unwrap();
    let mut b_stream = b.stream().await.unwrap();

    // Company A's attempt is streamed to A ...
    h.create("/product", &json!({"name": "A's"})).await;
    next_attempt(&mut a_stream).await;
    // ... and B's first event is its own, later one.
    let (status, _) = json(
        h.request_as_other(Method::POST, "/product")
            .json(&json!({"name": "B's"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (_, event) = next_attempt(&mut b_stream).await;
    assert_eq!(event.delivery.subscription_id, own);
}

#[tokio::test]
async fn a_consumer_that_does_not_read_holds_no_delivery_up() {
    const PRODUCTS: usize = 60;
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&h, &h.token, "product.create", &receiver.url("/hook")).await;
    let emulator = h.server.emulator().await.unwrap();
    // Opened and never read.
    let _stalled = emulator.stream().await.unwrap();

    for i in 0..PRODUCTS {
        h.create("/product", &json!({"name": format!("p{i}")}))
            .await;
    }
    let delivered = emulator
        .wait_for_deliveries(
            &DeliveryFilter::new()
                .subscription(subscription)
                .status(DeliveryStatus::Delivered),
            |log| log.len() == PRODUCTS,
            WITHIN,
        )
        .await
        .unwrap();
    assert_eq!(delivered.len(), PRODUCTS);
}

#[tokio::test]
async fn a_resumed_stream_replays_what_it_missed() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(&h, &h.token, "product.create", &receiver.url("/hook")).await;
    let emulator = h.server.emulator().await.unwrap();
    let mut stream = emulator.stream().await.unwrap();
    h.create("/product", &json!({"name": "first"})).await;
    let (first, _) = next_attempt(&mut stream).await;
    h.create("/product", &json!({"name": "second"})).await;
    let (second, event) = next_attempt(&mut stream).await;
    drop(stream);

    let mut resumed = emulator.stream_after(first.unwrap()).await.unwrap();
    let (again, replayed) = next_attempt(&mut resumed).await;
    assert_eq!((again, replayed), (second, event));

    // From an id the server never gave (an earlier process): a lag notice.
    let mut stale = emulator.stream_after(1).await.unwrap();
    assert!(
        matches!(next(&mut stale).await.event, StreamEvent::Lagged(lagged) if lagged.skipped.is_none())
    );
    let url = format!(
        "http://{}/_emulator/stream?after=soon",
        h.server.local_addr()
    );
    let response = h
        .http
        .get(&url)
        .basic_auth("0", Some(secrecy::ExposeSecret::expose_secret(&h.token)))
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 21000).await;
}
