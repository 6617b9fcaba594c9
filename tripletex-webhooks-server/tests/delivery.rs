//! The delivery engine against real loopback receivers: callback shape and
//! authentication, the retry schedule on the server clock, subscription health,
//! coalescing and ordering, target policy and isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::receiver::{Answer, Receiver, blackhole};
use common::{Harness, json, test_config};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha512;
use test_support::{WITHIN, eventually};

async fn subscribe(h: &Harness, body: Value) -> i64 {
    let response = h
        .request(Method::POST, "/event/subscription")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 201, "{body}");
    body["value"]["id"].as_i64().unwrap()
}

async fn update(h: &Harness, path: &str, body: Value) -> Value {
    let response = h
        .request(Method::PUT, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

async fn deliveries(h: &Harness, query: &str) -> Vec<Value> {
    let response = h
        .emulator(Method::GET, &format!("/_emulator/deliveries{query}"))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["values"].as_array().unwrap().clone()
}

/// The delivery log once its newest message has `attempts` recorded attempts.
async fn wait_attempts(h: &Harness, subscription: i64, attempts: usize) -> Value {
    eventually(&format!("{attempts} recorded attempts"), || async {
        let log = deliveries(h, &format!("?subscriptionId={subscription}")).await;
        let newest = log.first()?.clone();
        (newest["attemptLog"].as_array()?.len() >= attempts).then_some(newest)
    })
    .await
}

async fn subscription_status(h: &Harness, id: i64) -> String {
    let (_, body) = json(
        h.request(Method::GET, &format!("/event/subscription/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["value"]["status"].as_str().unwrap().to_owned()
}

fn advance(h: &Harness, by: Duration) {
    h.server.clock().advance(by);
}

/// Moves the server clock forward to `target_ms` (never back).
fn advance_to(h: &Harness, target_ms: i64) {
    let now_ms = i64::try_from(h.server.clock().now().unix_timestamp_nanos() / 1_000_000).unwrap();
    if let Ok(ahead) = u64::try_from(target_ms - now_ms) {
        advance(h, Duration::from_millis(ahead));
    }
}

fn to_ms(seconds: u64) -> i64 {
    i64::try_from(seconds * 1000).unwrap()
}

/// When the newest message of `subscription` was last attempted, on the server clock.
async fn last_attempt_ms(h: &Harness, subscription: i64) -> i64 {
    let log = deliveries(h, &format!("?subscriptionId={subscription}")).await;
    log[0]["attemptLog"].as_array().unwrap().last().unwrap()["attemptedAtMs"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn messages_carry_the_version_and_the_request_id_of_the_call_that_caused_them() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/hook")}),
    )
    .await;
    let request_id = |response: &reqwest::Response| {
        response.headers()["x-tlx-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    let response = h
        .request(Method::POST, "/product")
        .json(&json!({"name": "Espresso"}))
        .send()
        .await
        .unwrap();
    let created_by = request_id(&response);
    assert_eq!(json(response).await.0, 201);
    let log = deliveries(&h, "").await;
    assert_eq!(log[0]["requestId"], created_by, "{}", log[0]);
    assert_eq!(log[0]["objectVersion"], 0, "{}", log[0]);

    let response = h
        .emulator(Method::POST, "/_emulator/events")
        .json(&json!({"event": "product.create", "id": 99, "value": {"id": 99, "version": 2}}))
        .send()
        .await
        .unwrap();
    let emitted_by = request_id(&response);
    assert_eq!(json(response).await.0, 201);
    let log = deliveries(&h, "").await;
    assert_eq!(
        (
            &log[0]["objectId"],
            &log[0]["requestId"],
            &log[0]["objectVersion"]
        ),
        (&json!(99), &json!(emitted_by), &json!(2)),
        "{}",
        log[0]
    );
    assert_ne!(created_by, emitted_by);
}

#[tokio::test]
async fn callbacks_carry_every_auth_mechanism_and_a_verifiable_signature() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let target = format!(
        "http://hook-user:p%40ss@{}/hooks/tripletex?token=secret123",
        &receiver.base[7..]
    );
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": target, "fields": "id,version,name",
               "authHeaderName": "X-Api-Key", "authHeaderValue": "key-abc",
               "hmacSharedSecret": "a-very-shared-secret"}),
    )
    .await;
    let product = h
        .create("/product", &json!({"name": "Espresso", "number": "E1"}))
        .await;

    let callbacks = receiver.wait_for(1, WITHIN).await;
    let callback = &callbacks[0];
    assert_eq!(callback.uri.path(), "/hooks/tripletex");
    assert_eq!(
        callback.uri.query(),
        Some("token=secret123"),
        "query tokens stay in the URL"
    );
    assert_eq!(callback.header("x-api-key"), Some("key-abc"));
    let basic = callback
        .header("authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    assert_eq!(STANDARD.decode(basic).unwrap(), b"hook-user:p@ss");
    assert_eq!(callback.header("content-type"), Some("application/json"));
    assert!(
        callback
            .header("user-agent")
            .unwrap()
            .starts_with("tripletex-webhooks-server/")
    );

    // The signature, computed here independently of the crates under test.
    let key = callback.header("idempotency-key").unwrap();
    let mut mac = Hmac::<Sha512>::new_from_slice(b"a-very-shared-secret").unwrap();
    mac.update(format!("{key}&").as_bytes());
    mac.update(&callback.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(
        callback.header("x-request-signature"),
        Some(expected.as_str())
    );

    let envelope = callback.json();
    assert_eq!(
        envelope,
        json!({"subscriptionId": subscription, "event": "product.create", "id": product["id"],
               "value": {"id": product["id"], "version": 0, "name": "Espresso"}})
    );
    let log = wait_attempts(&h, subscription, 1).await;
    assert_eq!(log["status"], "delivered");
    assert_eq!(log["idempotencyKey"], key);
}

#[tokio::test]
async fn deletes_send_null_and_no_secret_headers_without_configuration() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(
        &h,
        json!({"event": "product.delete", "targetUrl": receiver.url("/d")}),
    )
    .await;
    let product = h.create("/product", &json!({"name": "Gone"})).await;
    let id = product["id"].as_i64().unwrap();
    let response = h
        .request(Method::DELETE, &format!("/product/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let callback = &receiver.wait_for(1, WITHIN).await[0];
    assert_eq!(callback.json()["value"], Value::Null);
    assert_eq!(callback.json()["id"], id);
    assert!(callback.header("x-request-signature").is_none());
    assert!(callback.header("authorization").is_none());
    assert!(
        callback.header("idempotency-key").is_some(),
        "sent with or without HMAC"
    );
}

#[tokio::test]
async fn the_full_retry_schedule_runs_on_the_server_clock() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    // A probe: a delivery to another target, due as soon as it is made.
    let probe = Receiver::start().await;
    let probe_subscription = subscribe(
        &h,
        json!({"event": "customer.create", "targetUrl": probe.url("/probe")}),
    )
    .await;
    h.create("/product", &json!({"name": "Retry me"})).await;
    let schedule = [60u64, 300, 900, 3600, 7200, 14_400, 28_800, 50_400];
    // Real time passes too (slowly, on a loaded machine): the clock is moved
    // to times read off the server clock, and stops `margin` short of a due
    // retry so that seconds of real time cannot make it due early.
    let margin = 30_000;
    wait_attempts(&h, subscription, 1).await;
    for (i, delay) in schedule.iter().enumerate() {
        let due = last_attempt_ms(&h, subscription).await + to_ms(*delay);
        // Short of the due time nothing happens: once a probe made after the
        // clock moved is delivered, the dispatcher has claimed what was due
        // (an early retry, due before the probe, with it or before it)...
        advance_to(&h, due - margin);
        h.create("/customer", &json!({"name": format!("probe {i}")}))
            .await;
        eventually("the probe to be delivered", || async {
            let log = deliveries(
                &h,
                &format!("?subscriptionId={probe_subscription}&status=delivered"),
            )
            .await;
            (log.len() == i + 1).then_some(())
        })
        .await;
        let log = deliveries(&h, &format!("?subscriptionId={subscription}")).await;
        assert_eq!(
            (
                log[0]["attemptLog"].as_array().unwrap().len(),
                receiver.received().len()
            ),
            (i + 1, i + 1),
            "no early retry (attempts logged, callbacks received)"
        );
        // ...and at the due time the retry fires.
        advance_to(&h, due);
        wait_attempts(&h, subscription, i + 2).await;
    }
    let log = eventually("the message to fail", || async {
        let log = deliveries(&h, &format!("?subscriptionId={subscription}")).await;
        (log[0]["status"] == "failed").then(|| log[0].clone())
    })
    .await;
    let times: Vec<i64> = log["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attemptedAtMs"].as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), 9);
    for (gap, delay) in times.windows(2).map(|w| w[1] - w[0]).zip(schedule) {
        // The retry is due at exactly the delay, and runs once the clock is
        // there: never before, and not a schedule step (a minute or more) late.
        let delay_ms = to_ms(delay);
        assert!(
            gap >= delay_ms && gap < delay_ms + margin,
            "gap {gap} ms for delay {delay} s"
        );
    }
    assert!(
        log["attemptLog"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["statusCode"] == 500)
    );
    assert_eq!(receiver.received().len(), 9);
    // Every retry carries the same idempotency key.
    let keys: std::collections::BTreeSet<_> = receiver
        .received()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::RetryAfter(503, 600));
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    h.create("/product", &json!({"name": "Busy"})).await;
    let log = wait_attempts(&h, subscription, 1).await;
    let first = log["attemptLog"][0]["attemptedAtMs"].as_i64().unwrap();
    assert_eq!(
        log["nextAttemptAtMs"].as_i64().unwrap() - first,
        600_000,
        "Retry-After, not the 1-minute schedule: {log:#}"
    );
}

#[tokio::test]
async fn a_week_of_failures_disables_and_a_success_resets_the_streak() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;

    // Failing for 6 days, then one success: the streak resets.
    h.create("/product", &json!({"name": "a"})).await;
    wait_attempts(&h, subscription, 1).await;
    advance(&h, Duration::from_secs(6 * 86_400));
    receiver.answer(Answer::Status(200));
    h.create("/product", &json!({"name": "b"})).await;
    wait_attempts(&h, subscription, 1).await;
    eventually("the success", || async {
        let log = deliveries(
            &h,
            &format!("?subscriptionId={subscription}&status=delivered"),
        )
        .await;
        (!log.is_empty()).then_some(())
    })
    .await;
    receiver.answer(Answer::Status(500));
    advance(&h, Duration::from_secs(2 * 86_400));
    h.create("/product", &json!({"name": "c"})).await;
    wait_attempts(&h, subscription, 1).await;
    assert_eq!(
        subscription_status(&h, subscription).await,
        "ACTIVE",
        "the streak restarted at the success"
    );

    // Seven days of nothing but failures: disabled.
    advance(&h, Duration::from_secs(7 * 86_400));
    h.create("/product", &json!({"name": "d"})).await;
    eventually("the subscription to be disabled", || async {
        (subscription_status(&h, subscription).await == "DISABLED_TOO_MANY_ERRORS").then_some(())
    })
    .await;

    // While disabled nothing is enqueued; pending messages are closed.
    let before = receiver.received().len();
    let while_disabled = h.create("/product", &json!({"name": "e"})).await;
    advance(&h, Duration::from_secs(31 * 3600));
    let log = eventually("pending messages to close", || async {
        let log = deliveries(&h, &format!("?subscriptionId={subscription}")).await;
        log.iter().all(|m| m["status"] != "pending").then_some(log)
    })
    .await;
    assert!(
        log.iter()
            .any(|m| m["lastError"] == "subscription not active"),
        "{log:#?}"
    );
    assert!(
        log.iter().all(|m| m["objectId"] != while_disabled["id"]),
        "nothing enqueued for an event while disabled"
    );
    assert_eq!(receiver.received().len(), before);

    // Re-enabled: new events flow again.
    receiver.answer(Answer::Status(200));
    update(
        &h,
        &format!("/event/subscription/{subscription}"),
        json!({"status": "ACTIVE"}),
    )
    .await;
    let product = h.create("/product", &json!({"name": "f"})).await;
    let callbacks = receiver.wait_for(before + 1, WITHIN).await;
    assert_eq!(callbacks.last().unwrap().json()["id"], product["id"]);
    assert_eq!(subscription_status(&h, subscription).await, "ACTIVE");
}

fn versions(callbacks: &[common::receiver::Received]) -> Vec<i64> {
    callbacks
        .iter()
        .map(|r| r.json()["value"]["version"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn updates_made_while_one_is_in_flight_coalesce_to_the_newest() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(
        &h,
        json!({"event": "product.update", "targetUrl": receiver.url("/u")}),
    )
    .await;
    let product = h.create("/product", &json!({"name": "v0"})).await;
    let path = format!("/product/{}", product["id"]);
    receiver.hold();
    update(&h, &path, json!({"name": "v1"})).await;
    receiver.wait_for(1, WITHIN).await;
    // v1 is in flight; these pile up behind it.
    for version in 2..=6 {
        update(&h, &path, json!({"name": format!("v{version}")})).await;
    }
    receiver.open();
    let callbacks = receiver.wait_for(2, WITHIN).await;
    assert_eq!(versions(&callbacks), [1, 6], "v2..v5 were replaced by v6");
    let superseded = eventually("four superseded messages", || async {
        let log = deliveries(
            &h,
            &format!("?subscriptionId={subscription}&status=superseded"),
        )
        .await;
        (log.len() == 4).then_some(log)
    })
    .await;
    let mut skipped: Vec<i64> = superseded
        .iter()
        .map(|m| m["objectVersion"].as_i64().unwrap())
        .collect();
    skipped.sort_unstable();
    assert_eq!(skipped, [2, 3, 4, 5]);
    assert!(
        superseded
            .iter()
            .all(|m| m["attemptLog"].as_array().unwrap().is_empty())
    );
}

#[tokio::test]
async fn a_failed_older_version_is_never_sent_after_a_newer_one() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let subscription = subscribe(
        &h,
        json!({"event": "product.update", "targetUrl": receiver.url("/u")}),
    )
    .await;
    let product = h.create("/product", &json!({"name": "v0"})).await;
    let path = format!("/product/{}", product["id"]);
    for version in 1..=3 {
        update(&h, &path, json!({"name": format!("v{version}")})).await;
        // Each version fails once and waits for its retry.
        wait_attempts(&h, subscription, 1).await;
        receiver
            .wait_for(usize::try_from(version).unwrap(), WITHIN)
            .await;
    }
    receiver.answer(Answer::Status(200));
    let failed_so_far = receiver.received().len();
    advance(&h, Duration::from_secs(2 * 3600));
    eventually("v3 to be delivered", || async {
        let log = deliveries(
            &h,
            &format!("?subscriptionId={subscription}&status=delivered"),
        )
        .await;
        (!log.is_empty()).then_some(())
    })
    .await;
    let all = versions(&receiver.received());
    assert!(
        all.windows(2).all(|w| w[0] <= w[1]),
        "no regression: {all:?}"
    );
    assert_eq!(
        versions(&receiver.received()[failed_so_far..]),
        [3],
        "only the newest is retried"
    );
    let superseded = deliveries(
        &h,
        &format!("?subscriptionId={subscription}&status=superseded"),
    )
    .await;
    assert_eq!(superseded.len(), 2);
}

#[tokio::test]
async fn redirects_are_failures() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Redirect);
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    h.create("/product", &json!({"name": "x"})).await;
    let log = wait_attempts(&h, subscription, 1).await;
    assert_eq!(log["status"], "pending");
    assert_eq!(log["attemptLog"][0]["statusCode"], 302);
    assert!(
        log["attemptLog"][0]["error"]
            .as_str()
            .unwrap()
            .contains("redirect")
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn private_targets_are_blocked_under_the_flag() {
    let mut config = test_config();
    config.block_private_targets = true;
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    let by_ip = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/ip")}),
    )
    .await;
    let port = &receiver.base[receiver.base.rfind(':').unwrap() + 1..];
    let by_name = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": format!("http://localhost:{port}/name")}),
    )
    .await;
    h.create("/product", &json!({"name": "x"})).await;
    for subscription in [by_ip, by_name] {
        let log = wait_attempts(&h, subscription, 1).await;
        let error = log["attemptLog"][0]["error"].as_str().unwrap();
        assert!(error.contains("private"), "{error}");
    }
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_blackholed_target_does_not_delay_others() {
    let mut config = test_config();
    // Longer than the test may take: a blackholed attempt never ends in it.
    config.attempt_timeout = Duration::from_secs(120);
    config.max_in_flight_per_target = 4;
    config.max_in_flight = 8;
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    let dead = blackhole().await;
    let dead_subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": format!("{dead}/never")}),
    )
    .await;
    subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/alive")}),
    )
    .await;
    for i in 0..20 {
        h.create("/product", &json!({"name": format!("p{i}")}))
            .await;
    }
    receiver.wait_for(20, WITHIN).await;
    // Every healthy delivery arrived while the blackholed attempts were still
    // hanging: none of them has an outcome (as the server records it).
    let stuck = deliveries(&h, &format!("?subscriptionId={dead_subscription}")).await;
    assert!(!stuck.is_empty());
    for message in &stuck {
        assert_eq!(message["status"], "pending", "{message}");
        assert_eq!(message["attemptLog"], json!([]), "{message}");
    }
}

#[tokio::test]
async fn redeliver_sends_again_with_the_same_key() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    h.create("/product", &json!({"name": "x"})).await;
    let log = wait_attempts(&h, subscription, 1).await;
    let response = h
        .emulator(
            Method::POST,
            &format!("/_emulator/deliveries/{}/redeliver", log["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let callbacks = receiver.wait_for(2, WITHIN).await;
    assert_eq!(
        callbacks[0].header("idempotency-key"),
        callbacks[1].header("idempotency-key")
    );
    let response = h
        .emulator(Method::POST, "/_emulator/deliveries/999999/redeliver")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn emulated_events_reach_their_subscribers() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(
        &h,
        json!({"event": "notification.sent", "targetUrl": receiver.url("/n")}),
    )
    .await;
    let response = h
        .emulator(Method::POST, "/_emulator/events")
        .json(&json!({"event": "notification.sent", "id": 7,
                      "value": {"id": 7, "title": "Hello", "message": "m", "type": "INFO", "date": "2026-11-28"}}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["value"]["deliveries"], 1);
    let callback = &receiver.wait_for(1, WITHIN).await[0];
    assert_eq!(callback.json()["event"], "notification.sent");
    assert_eq!(callback.json()["value"]["title"], "Hello");
    let response = h
        .emulator(Method::POST, "/_emulator/events")
        .json(&json!({"event": "nosuch.thing", "id": 7, "value": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
}

#[tokio::test]
async fn payload_fields_match_get_including_expanded_references() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let fields = "id,version,orderDate,customer(name)";
    subscribe(
        &h,
        json!({"event": "order.create", "targetUrl": receiver.url("/o"), "fields": fields}),
    )
    .await;
    let customer = h.create("/customer", &json!({"name": "Acme AS"})).await;
    let order = h.create("/order", &json!({"customer": {"id": customer["id"]}, "orderDate": "2026-11-28", "deliveryDate": "2026-12-01"}))
    .await;
    let callback = &receiver.wait_for(1, WITHIN).await[0];
    let (_, got) = json(
        h.request(
            Method::GET,
            &format!("/order/{}?fields={fields}", order["id"]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(callback.json()["value"], got["value"]);
    assert_eq!(
        callback.json()["value"]["customer"],
        json!({"name": "Acme AS"})
    );
}

#[tokio::test]
async fn default_and_star_payloads_are_the_whole_model_as_get_gives_it() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    for (path, fields) in [("/plain", Value::Null), ("/star", json!("*"))] {
        subscribe(
            &h,
            json!({"event": "product.create", "targetUrl": receiver.url(path), "fields": fields}),
        )
        .await;
    }
    let product = h.create("/product", &json!({"name": "Espresso"})).await;
    let callbacks = receiver.wait_for(2, WITHIN).await;
    let (_, got) = json(
        h.request(Method::GET, &format!("/product/{}", product["id"]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got["value"]["weightUnit"], "kg", "{got}");
    for callback in &callbacks {
        assert_eq!(callback.json()["value"], got["value"]);
    }
}

#[tokio::test]
async fn advancing_the_clock_does_not_resend_an_attempt_in_flight() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/slow")}),
    )
    .await;
    receiver.hold();
    let slow = h.create("/product", &json!({"name": "slow"})).await;
    receiver.wait_for(1, WITHIN).await;
    // The attempt is in flight; a minute on the server clock passes, well
    // beyond its lease (attempt timeout + 30 s), while no real time does.
    advance(&h, Duration::from_secs(60));
    // A message enqueued after the advance is claimed after anything the
    // advance made due: once it has arrived, a resend would have too.
    let later = h.create("/product", &json!({"name": "later"})).await;
    let arrived = receiver.wait_for(2, WITHIN).await;
    receiver.open();
    eventually("both messages delivered", || async {
        let log = deliveries(&h, "").await;
        (log.len() == 2 && log.iter().all(|m| m["status"] == "delivered")).then_some(())
    })
    .await;
    let ids: Vec<i64> = receiver
        .received()
        .iter()
        .map(|c| c.json()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [slow["id"].as_i64().unwrap(), later["id"].as_i64().unwrap()],
        "one request per message: {arrived:?}"
    );
    let log = deliveries(&h, "").await;
    assert!(
        log.iter()
            .all(|m| m["attempts"] == 1 && m["attemptLog"].as_array().unwrap().len() == 1),
        "{log:?}"
    );
}

#[tokio::test]
async fn idempotency_keys_are_unique_and_grow_with_enqueue_time() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    h.create("/product", &json!({"name": "first"})).await;
    h.create("/product", &json!({"name": "same millisecond, maybe"}))
        .await;
    advance(&h, Duration::from_secs(1));
    h.create("/product", &json!({"name": "a second later"}))
        .await;
    let callbacks = receiver.wait_for(3, WITHIN).await;
    let mut keys: Vec<(String, String)> = callbacks
        .iter()
        .map(|c| {
            let name = c.json()["value"]["name"].as_str().unwrap().to_owned();
            (name, c.header("idempotency-key").unwrap().to_owned())
        })
        .collect();
    for (_, key) in &keys {
        assert_eq!(key.len(), 32, "{key}");
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{key}"
        );
    }
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(keys[2].0, "a second later", "{keys:?}");
    assert_ne!(keys[0].1, keys[1].1);
}

#[tokio::test]
async fn a_full_lane_that_drains_is_not_held_back() {
    // One attempt in flight per target, and 300 messages due at once: the lane
    // is full all the time, yet it finishes attempts, so its due messages must
    // be claimed as soon as it has room. (Deferring them, as for a target
    // that never answers, sent about two a second.)
    let mut config = test_config();
    config.max_in_flight_per_target = 1;
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::RetryAfter(503, 3600));
    subscribe(
        &h,
        json!({"event": "product.create", "targetUrl": receiver.url("/r")}),
    )
    .await;
    for n in 0..300 {
        h.create("/product", &json!({"name": format!("p{n}")}))
            .await;
    }
    receiver.wait_for(300, WITHIN).await;
    eventually("every first attempt recorded", || async {
        let log = deliveries(&h, "").await;
        (log.len() == 300 && log.iter().all(|m| m["attempts"] == 1)).then_some(())
    })
    .await;
    receiver.answer(Answer::Status(200));
    advance(&h, Duration::from_secs(3600));
    // Deferred a second at a time, the 300 retries took about 150 s, far
    // beyond the bound.
    let callbacks = receiver.wait_for(600, WITHIN).await;
    assert_eq!(callbacks.len(), 600);
}

#[tokio::test]
async fn failures_are_named_by_kind_in_the_delivery_log() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let refusing = test_support::net::RefusingPort::bind();
    let cases = [
        // A plain-HTTP receiver behind an https:// URL fails the handshake.
        (
            receiver.url("/tls").replace("http://", "https://"),
            "TLS handshake failed: ",
        ),
        (
            format!("http://{}/refused", refusing.addr()),
            "connection failed: ",
        ),
    ];
    for (target, expected) in cases {
        let subscription =
            subscribe(&h, json!({"event": "customer.create", "targetUrl": target})).await;
        h.create("/customer", &json!({"name": "Acme AS"})).await;
        let message = wait_attempts(&h, subscription, 1).await;
        let error = message["attemptLog"][0]["error"].as_str().unwrap();
        assert!(error.starts_with(expected), "{target}: {error}");
        assert_eq!(message["attemptLog"][0]["statusCode"], Value::Null);
        let response = h
            .request(
                Method::DELETE,
                &format!("/event/subscription/{subscription}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
}
