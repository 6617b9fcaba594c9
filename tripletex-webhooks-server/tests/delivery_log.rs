//! The delivery log (`GET /_emulator/deliveries`, `GET
//! /_emulator/deliveries/{id}`): each attempt's request and response with no
//! secret in them, paging and filters, and retention of finished messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::receiver::{Answer, Receiver};
use common::{Harness, assert_api_error, json, test_config};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::eventually;
use tripletex_webhooks_server::DurationList;

const BASIC_USER: &str = "hook-user";
const BASIC_PASSWORD: &str = "basic-pass-9c1e";
const QUERY_TOKEN: &str = "query-token-5e2d";
const BARE_TOKEN: &str = "bare-token-7f3a";
const AUTH_VALUE: &str = "Bearer auth-value-3d8b";
const HMAC_SECRET: &str = "hmac-secret-2a6f";

async fn subscribe(h: &Harness, event: &str, target: &str) -> i64 {
    let (status, body) = json(
        h.request(Method::POST, "/event/subscription")
            .json(&json!({"event": event, "targetUrl": target}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["value"]["id"].as_i64().unwrap()
}

async fn write(h: &Harness, method: Method, path: &str, body: Value) -> Value {
    let (status, body) = json(h.request(method, path).json(&body).send().await.unwrap()).await;
    assert!(status == 200 || status == 201, "{status}: {body}");
    body["value"].clone()
}

/// The body of `GET /_emulator/deliveries{query}` as text, after a 200.
async fn log_text(h: &Harness, query: &str) -> String {
    let response = h
        .emulator(Method::GET, &format!("/_emulator/deliveries{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn log(h: &Harness, query: &str) -> Value {
    serde_json::from_str(&log_text(h, query).await).unwrap()
}

/// The ids of a page, in its order.
fn ids(page: &Value) -> Vec<i64> {
    page["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// The log once every message of the company satisfies `settled`.
async fn settled(h: &Harness, messages: usize, settled: fn(&Value) -> bool) -> Value {
    eventually(&format!("{messages} settled messages"), || async {
        let page = log(h, "").await;
        let values = page["values"].as_array()?;
        (values.len() == messages && values.iter().all(settled)).then_some(page)
    })
    .await
}

fn attempted(message: &Value) -> bool {
    message["attempts"].as_i64() >= Some(1)
}

fn ms(h: &Harness) -> i64 {
    i64::try_from(h.server.clock().now().unix_timestamp_nanos() / 1_000_000).unwrap()
}

#[tokio::test]
async fn an_attempt_shows_its_request_and_response_and_no_secret() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Echo);
    let target = format!(
        "http://{BASIC_USER}:{BASIC_PASSWORD}@{}/hook?token={QUERY_TOKEN}&{BARE_TOKEN}",
        &receiver.base[7..]
    );
    let created = write(
        &h,
        Method::POST,
        "/event/subscription",
        json!({
            "event": "product.create",
            "targetUrl": target,
            "authHeaderName": "X-Hook-Auth",
            "authHeaderValue": AUTH_VALUE,
            "hmacSharedSecret": HMAC_SECRET,
        }),
    )
    .await;
    write(&h, Method::POST, "/product", json!({"name": "Espresso"})).await;
    let list = settled(&h, 1, |m| m["status"] == "delivered").await;
    let message = &list["values"][0];
    assert_eq!(message["subscriptionId"], created["id"]);
    // The receiver did get every secret, and echoed them back.
    let callback = &receiver.received()[0];
    assert_eq!(callback.header("x-hook-auth"), Some(AUTH_VALUE));

    let response = h
        .emulator(
            Method::GET,
            &format!("/_emulator/deliveries/{}", message["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let list_text = log_text(&h, "").await;
    let encoded_basic = STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}"));
    for secret in [
        BASIC_PASSWORD,
        encoded_basic.as_str(),
        QUERY_TOKEN,
        BARE_TOKEN,
        AUTH_VALUE,
        "auth-value-3d8b",
        HMAC_SECRET,
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
        assert!(!list_text.contains(secret), "{secret} in {list_text}");
    }

    let detail: Value = serde_json::from_str(&text).unwrap();
    let attempt = &detail["value"]["attemptLog"][0];
    let request = &attempt["request"];
    assert_eq!(
        request["url"],
        format!("{}/hook?token=<redacted>&<redacted>", receiver.base)
    );
    assert_eq!(request["headers"]["authorization"], "<redacted>");
    assert_eq!(request["headers"]["x-hook-auth"], "<redacted>");
    assert_eq!(request["headers"]["content-type"], "application/json");
    assert_eq!(
        request["headers"]["idempotency-key"],
        message["idempotencyKey"]
    );
    assert!(request["headers"]["x-request-signature"].is_string());
    assert_eq!(
        request["body"].as_str().unwrap().as_bytes(),
        &callback.body[..],
        "the body as sent"
    );
    let sent: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["value"]["name"], "Espresso");
    assert_eq!(request["bodyTruncated"], false);

    let answer = &attempt["response"];
    assert_eq!(
        (&answer["status"], &attempt["statusCode"]),
        (&json!(200), &json!(200))
    );
    assert_eq!(answer["headers"]["x-receiver"], "echo");
    assert_eq!(answer["headers"]["x-echo-x-hook-auth"], "<redacted>");
    let body = answer["body"].as_str().unwrap();
    assert!(
        body.starts_with("POST /hook?token=<redacted>&<redacted>\n"),
        "{body}"
    );
    assert!(body.contains("x-hook-auth: <redacted>\n"), "{body}");
    assert!(body.len() <= 4096, "{}", body.len());
    assert_eq!(answer["bodyTruncated"], true);
    assert!(
        list["values"][0]["attemptLog"][0].get("request").is_none(),
        "the list leaves exchanges out"
    );
}

/// `GET /_emulator/deliveries/{id}`, answered 200.
async fn delivery_detail(h: &Harness, id: &Value) -> Value {
    let (status, detail) = json(
        h.emulator(Method::GET, &format!("/_emulator/deliveries/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    detail
}

/// The request bodies `GET /_emulator/deliveries/{id}` shows, oldest first.
async fn logged_bodies(h: &Harness, id: &Value) -> Vec<String> {
    let detail = delivery_detail(h, id).await;
    detail["value"]["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["request"]["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_message_delivers_its_object_as_of_its_event_after_the_object_changed() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    subscribe(&h, "product.create", &receiver.url("/hook")).await;
    let product = write(&h, Method::POST, "/product", json!({"name": "Espresso"})).await;
    let list = settled(&h, 1, attempted).await;
    let id = list["values"][0]["id"].clone();
    // Changed while its create waits for a retry, then changed again after.
    let path = format!("/product/{}", product["id"]);
    write(&h, Method::PUT, &path, json!({"name": "Lungo"})).await;
    receiver.answer(Answer::Status(200));
    let redeliver = format!("/_emulator/deliveries/{id}/redeliver");
    let response = h.emulator(Method::POST, &redeliver).send().await.unwrap();
    assert_eq!(response.status(), 202);
    settled(&h, 1, |m| m["status"] == "delivered").await;
    let deleted = h.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let response = h.emulator(Method::POST, &redeliver).send().await.unwrap();
    assert_eq!(response.status(), 202);
    // Logged once the third attempt's outcome is recorded (after the callback).
    settled(&h, 1, |m| m["attempts"] == 3 && m["status"] == "delivered").await;
    let callbacks = receiver.wait_for(3, Duration::from_secs(10)).await;

    for callback in &callbacks {
        let value = &callback.json()["value"];
        assert_eq!(
            (&value["name"], &value["version"]),
            (&json!("Espresso"), &json!(0))
        );
    }
    let bodies = logged_bodies(&h, &id).await;
    assert_eq!(bodies.len(), 3);
    for (logged, callback) in bodies.iter().zip(&callbacks) {
        assert_eq!(
            logged.as_bytes(),
            &callback.body[..],
            "the log shows what was sent"
        );
    }
}

#[tokio::test]
async fn a_filtered_body_is_logged_as_sent() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    write(
        &h,
        Method::POST,
        "/event/subscription",
        json!({"event": "product.create", "targetUrl": receiver.url("/hook"), "fields": "id,name"}),
    )
    .await;
    write(&h, Method::POST, "/product", json!({"name": "Espresso"})).await;
    let list = settled(&h, 1, |m| m["status"] == "delivered").await;
    let callbacks = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        callbacks[0].json()["value"],
        json!({"id": list["values"][0]["objectId"], "name": "Espresso"})
    );
    let bodies = logged_bodies(&h, &list["values"][0]["id"]).await;
    assert_eq!(bodies[0].as_bytes(), &callbacks[0].body[..]);
}

#[tokio::test]
async fn a_long_body_is_cut_at_the_cap_and_an_unknown_delivery_is_404() {
    let mut config = test_config();
    config.delivery_log_body_limit = 100;
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    subscribe(&h, "product.create", &receiver.url("/hook")).await;
    let name = "é".repeat(300);
    write(&h, Method::POST, "/product", json!({"name": name})).await;
    let list = settled(&h, 1, |m| m["status"] == "delivered").await;
    let id = &list["values"][0]["id"];
    let detail = delivery_detail(&h, id).await;
    let request = &detail["value"]["attemptLog"][0]["request"];
    assert_eq!(request["bodyTruncated"], true);
    let body = request["body"].as_str().unwrap();
    assert!((90..=100).contains(&body.len()), "{}", body.len());
    assert_eq!(detail["value"]["attemptLog"][0]["response"]["body"], "");

    let missing = h
        .emulator(Method::GET, "/_emulator/deliveries/999999")
        .send()
        .await
        .unwrap();
    assert_api_error(missing, 404, 6000).await;
}

#[tokio::test]
async fn the_log_is_paged_newest_first_and_filtered() {
    let h = Harness::start().await;
    let taking = Receiver::start().await;
    let refusing = Receiver::start().await;
    refusing.answer(Answer::Status(500));
    let creates = subscribe(&h, "product.create", &taking.url("/hook")).await;
    let updates = subscribe(&h, "product.update", &refusing.url("/hook")).await;
    let mut products = Vec::new();
    for name in ["a", "b", "c"] {
        let product = write(&h, Method::POST, "/product", json!({"name": name})).await;
        products.push(product["id"].as_i64().unwrap());
    }
    let split_ms = ms(&h) + 1;
    h.server.clock().advance(Duration::from_secs(1));
    let path = format!("/product/{}", products[0]);
    write(&h, Method::PUT, &path, json!({"name": "a2"})).await;
    let all = settled(&h, 4, attempted).await;

    assert_eq!(
        (&all["fullResultSize"], &all["from"], &all["count"]),
        (&json!(4), &json!(0), &json!(4))
    );
    let newest_first = ids(&all);
    assert!(
        newest_first.windows(2).all(|w| w[0] > w[1]),
        "{newest_first:?}"
    );
    let page = log(&h, "?from=1&count=2").await;
    assert_eq!(
        (&page["fullResultSize"], &page["from"], &page["count"]),
        (&json!(4), &json!(1), &json!(2))
    );
    assert_eq!(ids(&page), newest_first[1..3]);
    let past_the_end = log(&h, "?from=10").await;
    assert_eq!(
        (&past_the_end["fullResultSize"], &past_the_end["count"]),
        (&json!(4), &json!(0))
    );
    let mut oldest_first = newest_first.clone();
    oldest_first.reverse();
    assert_eq!(ids(&log(&h, "?sorting=id").await), oldest_first);

    let split_iso =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(split_ms) * 1_000_000)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
    let update = newest_first[0];
    for (query, expected) in [
        (
            format!("?subscriptionId={creates}"),
            newest_first[1..].to_vec(),
        ),
        (format!("?subscriptionId={updates}"), vec![update]),
        ("?event=product.update".to_owned(), vec![update]),
        (format!("?objectId={}", products[1]), vec![newest_first[2]]),
        ("?status=delivered".to_owned(), newest_first[1..].to_vec()),
        ("?status=pending".to_owned(), vec![update]),
        (format!("?createdFrom={split_ms}"), vec![update]),
        (format!("?createdTo={split_ms}"), newest_first[1..].to_vec()),
        (format!("?createdFrom={split_iso}"), vec![update]),
        (
            format!("?event=product.create&objectId={}", products[0]),
            vec![newest_first[3]],
        ),
    ] {
        let page = log(&h, &query).await;
        assert_eq!(ids(&page), expected, "{query}: {page}");
        assert_eq!(page["fullResultSize"], expected.len(), "{query}");
    }

    for bad in [
        "?status=bogus",
        "?createdFrom=yesterday",
        "?sorting=name",
        "?objectId=x",
        "?event=no-such",
    ] {
        let response = h
            .emulator(Method::GET, &format!("/_emulator/deliveries{bad}"))
            .send()
            .await
            .unwrap();
        assert_api_error(response, 422, 21000).await;
    }
}

#[tokio::test]
async fn finished_messages_go_after_keep_delivered_and_pending_ones_stay() {
    let mut config = test_config();
    config.retry_schedule = DurationList(vec![Duration::from_secs(30 * 86_400)]);
    let h = Harness::with_config(config).await;
    let taking = Receiver::start().await;
    let refusing = Receiver::start().await;
    refusing.answer(Answer::Status(500));
    let delivered = subscribe(&h, "product.create", &taking.url("/hook")).await;
    let pending = subscribe(&h, "product.create", &refusing.url("/a")).await;
    let closed = subscribe(&h, "product.create", &refusing.url("/b")).await;
    let first = write(&h, Method::POST, "/product", json!({"name": "first"})).await;
    settled(&h, 3, attempted).await;
    // Disabling a subscription closes its pending message: failed.
    let path = format!("/event/subscription/{closed}");
    write(&h, Method::PUT, &path, json!({"status": "DISABLED"})).await;
    let closed_status = |page: &Value| {
        page["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["subscriptionId"] == closed)
            .map(|m| m["status"].clone())
    };
    assert_eq!(closed_status(&log(&h, "").await), Some(json!("failed")));

    h.server.clock().advance(Duration::from_secs(6 * 86_400));
    let second = write(&h, Method::POST, "/product", json!({"name": "second"})).await;
    settled(&h, 5, attempted).await;
    h.server.clock().advance(Duration::from_secs(2 * 86_400));

    // Finished 8 days ago: gone. Finished 2 days ago, or pending: kept.
    let kept = eventually("the old finished messages to go", || async {
        let page = log(&h, "").await;
        (page["fullResultSize"] == 3).then_some(page)
    })
    .await;
    let mut remaining: Vec<(i64, i64, String)> = kept["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["subscriptionId"].as_i64().unwrap(),
                m["objectId"].as_i64().unwrap(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    remaining.sort();
    let (first, second) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    let mut expected = vec![
        (delivered, second, "delivered".to_owned()),
        (pending, first, "pending".to_owned()),
        (pending, second, "pending".to_owned()),
    ];
    expected.sort();
    assert_eq!(remaining, expected);
}

#[tokio::test]
async fn a_message_whose_stored_object_does_not_read_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("damaged.db").display());
    let mut config = test_config();
    config.database_url.clone_from(&url);
    let h = Harness::with_config(config).await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    subscribe(&h, "product.create", &receiver.url("/hook")).await;
    let damaged = write(&h, Method::POST, "/product", json!({"name": "Damaged"})).await;
    write(&h, Method::POST, "/product", json!({"name": "Intact"})).await;
    let list = settled(&h, 2, attempted).await;
    // The first product's stored body stops reading while both wait for a
    // retry, as in a damaged file.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE objects SET body_deflated = x'ff00ff' WHERE id = ?")
        .bind(damaged["id"].as_i64().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    receiver.answer(Answer::Status(200));
    for message in list["values"].as_array().unwrap() {
        let redeliver = format!("/_emulator/deliveries/{}/redeliver", message["id"]);
        let response = h.emulator(Method::POST, &redeliver).send().await.unwrap();
        assert_eq!(response.status(), 202);
    }
    let list = settled(&h, 2, |m| m["attempts"] == 2).await;

    let (damaged_message, intact): (Vec<&Value>, Vec<&Value>) = list["values"]
        .as_array()
        .unwrap()
        .iter()
        .partition(|m| m["objectId"] == damaged["id"]);
    let (damaged_message, intact) = (damaged_message[0], intact[0]);
    assert_eq!(intact["status"], "delivered", "{intact}");
    assert_eq!(damaged_message["status"], "pending", "{damaged_message}");
    let error = damaged_message["lastError"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "the stored object {} does not read",
            damaged["id"]
        )),
        "{error}"
    );
    // Two first attempts, then only the intact product's second.
    let callbacks = receiver.received();
    assert_eq!(callbacks.len(), 3);
    assert_eq!(callbacks[2].json()["value"]["name"], "Intact");
}
