//! `EmulatorClient` against the bundled server, in-process: every call, the
//! live stream, and its failures as typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};
use test_support::WITHIN;
use test_support::net::RefusingPort;
use tripletex_webhooks_client::emulator::{DeliveryFilter, EmulatorClient};
use tripletex_webhooks_client::types::NewSubscription;
use tripletex_webhooks_client::types::emulator::{DeliveryRecord, DeliveryStatus, StreamEvent};
use tripletex_webhooks_server::{RunningServer, ServerConfig};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Harness {
    server: RunningServer,
    emulator: EmulatorClient,
    receiver: MockServer,
}

impl Harness {
    /// A server, a receiver answering 200, and a subscription of `event` to it.
    async fn start(event: &str) -> (Self, i64) {
        let server = RunningServer::start(ServerConfig::for_tests())
            .await
            .unwrap();
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("thanks"))
            .mount(&receiver)
            .await;
        let emulator = server.emulator().await.unwrap();
        let subscription = subscribe(&emulator, event, &format!("{}/hook", receiver.uri())).await;
        (
            Self {
                server,
                emulator,
                receiver,
            },
            subscription,
        )
    }

    /// Emits `notification.sent` for note `id` and waits until it is delivered.
    async fn emit_delivered(
        &self,
        subscription: i64,
        id: i64,
    ) -> (DeliveryFilter, Vec<DeliveryRecord>) {
        self.emulator
            .emit("notification.sent", id, note(id))
            .await
            .unwrap();
        let filter = DeliveryFilter::new().subscription(subscription);
        let log = self
            .emulator
            .wait_for_deliveries(&filter, |log| delivered(log) == 1, WITHIN)
            .await
            .unwrap();
        (filter, log)
    }
}

async fn subscribe(emulator: &EmulatorClient, event: &str, target: &str) -> i64 {
    emulator
        .client()
        .subscriptions()
        .create(&NewSubscription::new(event.parse().unwrap(), target))
        .await
        .unwrap()
        .id
        .unwrap()
}

fn note(id: i64) -> Value {
    json!({"id": id, "title": format!("note {id}")})
}

fn delivered(log: &[DeliveryRecord]) -> usize {
    log.iter()
        .filter(|d| d.status == DeliveryStatus::Delivered)
        .count()
}

#[tokio::test]
async fn an_emitted_event_is_waited_for_and_read_back_with_its_exchange() {
    let (h, subscription) = Harness::start("notification.sent").await;
    let emitted = h
        .emulator
        .emit("notification.sent", 7, note(7))
        .await
        .unwrap();
    assert_eq!(
        (emitted.event.as_str(), emitted.id, emitted.deliveries),
        ("notification.sent", 7, 1)
    );

    let filter = DeliveryFilter::new().subscription(subscription);
    let log = h
        .emulator
        .wait_for_deliveries(&filter, |log| delivered(log) == 1, WITHIN)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].event.as_str(), log[0].object_id),
        ("notification.sent", 7)
    );

    let one = h.emulator.delivery(log[0].id).await.unwrap();
    let exchange = one.attempt_log[0].exchange.as_ref().expect("its exchange");
    let request = exchange.request.as_ref().unwrap();
    assert!(request.url.starts_with(&h.receiver.uri()), "{request:?}");
    let body: Value = serde_json::from_str(&request.message.body).unwrap();
    assert_eq!(body["value"]["title"], "note 7");
    let response = exchange.response.as_ref().unwrap();
    assert_eq!(
        (response.status, response.message.body.as_str()),
        (200, "thanks")
    );

    let page = h
        .emulator
        .deliveries(&filter.clone().page(0, 10))
        .await
        .unwrap();
    assert_eq!((page.full_result_size, page.values.len()), (1, 1));
}

#[tokio::test]
async fn the_stream_is_typed() {
    let (h, subscription) = Harness::start("notification.sent").await;
    let mut stream = h.emulator.stream().await.unwrap();
    h.emulator
        .emit("notification.sent", 8, note(8))
        .await
        .unwrap();
    let item = tokio::time::timeout(WITHIN, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let StreamEvent::Attempt(attempt) = item.event else {
        panic!("an attempt: {item:?}");
    };
    assert!(item.id.is_some());
    assert_eq!(attempt.delivery.subscription_id, subscription);
    assert_eq!(attempt.attempt.status_code, Some(200));
}

#[tokio::test]
async fn redelivery_sends_again_and_an_unknown_message_is_not_found() {
    let (h, subscription) = Harness::start("notification.sent").await;
    let (filter, log) = h.emit_delivered(subscription, 9).await;

    h.emulator.redeliver(log[0].id).await.unwrap();
    let again = h
        .emulator
        .wait_for_deliveries(
            &filter,
            |log| log[0].attempts == 2 && log[0].status == DeliveryStatus::Delivered,
            WITHIN,
        )
        .await
        .unwrap();
    assert_eq!(again[0].attempt_log.len(), 2);
    assert_eq!(h.receiver.received_requests().await.unwrap().len(), 2);

    let error = h
        .emulator
        .redeliver(999_999)
        .await
        .expect_err("no such message");
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.api_error().map(|api| api.code.as_i32()), Some(6000));
    let error = h
        .emulator
        .delivery(999_999)
        .await
        .expect_err("no such message");
    assert!(error.is_not_found(), "{error}");
}

#[tokio::test]
async fn a_wait_that_times_out_says_what_it_saw() {
    let (h, subscription) = Harness::start("notification.sent").await;
    let (filter, _) = h.emit_delivered(subscription, 10).await;

    let error = h
        .emulator
        .wait_for_deliveries(&filter, |log| log.len() == 2, Duration::from_millis(300))
        .await
        .expect_err("there is only one");
    assert!(error.is_wait_timeout(), "{error}");
    let seen = error.seen_deliveries().expect("what it saw");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].object_id, 10);
}

#[tokio::test]
async fn the_clock_moves_and_a_retry_fires() {
    let server = RunningServer::start(ServerConfig::for_tests())
        .await
        .unwrap();
    let emulator = server.emulator().await.unwrap();
    let refusing = RefusingPort::bind();
    let subscription = subscribe(
        &emulator,
        "notification.sent",
        &format!("http://{}/hook", refusing.addr()),
    )
    .await;
    let before = emulator.now().await.unwrap();

    emulator
        .emit("notification.sent", 11, note(11))
        .await
        .unwrap();
    let filter = DeliveryFilter::new().subscription(subscription);
    let log = emulator
        .wait_for_deliveries(
            &filter,
            |log| log.first().is_some_and(|d| d.attempts == 1),
            WITHIN,
        )
        .await
        .unwrap();
    assert_eq!(log[0].status, DeliveryStatus::Pending);

    let after = emulator.advance(Duration::from_secs(3600)).await.unwrap();
    assert!(
        after.offset_ms >= before.offset_ms + 3_600_000,
        "{before:?} {after:?}"
    );
    assert!(after.now_ms >= before.now_ms + 3_600_000);
    emulator
        .wait_for_deliveries(&filter, |log| log[0].attempts >= 2, WITHIN)
        .await
        .unwrap();
    assert!(emulator.now().await.unwrap().offset_ms >= after.offset_ms);
}

#[tokio::test]
async fn reset_empties_the_company() {
    let (h, subscription) = Harness::start("notification.sent").await;
    h.emit_delivered(subscription, 12).await;
    h.emulator.reset().await.unwrap();
    assert!(
        h.emulator
            .deliveries(&DeliveryFilter::new())
            .await
            .unwrap()
            .values
            .is_empty()
    );
    assert!(
        h.emulator
            .client()
            .subscriptions()
            .list()
            .all()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failures_are_typed_errors() {
    let (h, _) = Harness::start("notification.sent").await;

    let wrong = EmulatorClient::new(h.server.base_url(), "not-a-session-token").unwrap();
    let error = wrong
        .emit("notification.sent", 1, note(1))
        .await
        .expect_err("refused");
    assert!(error.is_auth(), "{error}");
    assert_eq!(error.api_error().map(|api| api.code.as_i32()), Some(3000));
    assert!(error.request_id().is_some());
    assert!(
        !error.to_string().contains("not-a-session-token"),
        "{error}"
    );
    let error = wrong.stream().await.expect_err("refused");
    assert!(error.is_auth(), "{error}");
    let error = wrong
        .wait_for_deliveries(&DeliveryFilter::new(), |_| true, WITHIN)
        .await
        .expect_err("refused");
    assert!(error.is_auth(), "{error}");

    let error = h
        .emulator
        .emit("product.explode", 1, note(1))
        .await
        .expect_err("not an event of the catalogue");
    assert!(
        error.is_api() && error.status().is_some_and(|s| s.as_u16() == 422),
        "{error}"
    );
}

#[tokio::test]
async fn a_handle_from_the_local_tokens_and_the_server_root() {
    let (h, _) = Harness::start("notification.sent").await;
    let root = format!("http://{}", h.server.local_addr());
    let emulator =
        EmulatorClient::with_tokens(&root, "local-consumer-token", "local-employee-token").unwrap();
    assert_eq!(
        emulator
            .emit("notification.sent", 13, note(13))
            .await
            .unwrap()
            .deliveries,
        1
    );
    assert!(emulator.client().base_url().as_str().ends_with("/v2"));
}
