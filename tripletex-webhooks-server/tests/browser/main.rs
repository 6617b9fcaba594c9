//! The dashboard in a real browser (headless Chromium), each scenario as a
//! person would go through it: sign in, watch a delivery appear, read a
//! message, redeliver it, trigger an event, re-enable a subscription that
//! errors disabled, advance the clock to run a retry, and use the pages in a
//! narrow window with the keyboard.
//!
//! Without Chromium and chromedriver the tests skip with a printed reason;
//! under `REQUIRE_SERVICES=1` (CI) that is a failure. With
//! `UPDATE_SCREENSHOTS=1` they also write `docs/screenshots/*.png`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;
mod driver;
mod receiver;

use std::time::Duration;

use common::{Harness, json, test_config};
use driver::{Browser, WIDE};
use fantoccini::actions::InputSource as _;
use receiver::{ANSWER, Receiver};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};
use tripletex_webhooks_server::{DurationList, ServerConfig};

/// One browser at a time: the machines that run these have two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A server, a receiver and a browser.
struct Scene {
    h: Harness,
    receiver: Receiver,
    browser: Browser,
    _turn: MutexGuard<'static, ()>,
}

impl Scene {
    /// A scene on `config`, or `None` when there is no browser (skipped).
    async fn start(config: ServerConfig) -> Option<Self> {
        let turn = ONE_AT_A_TIME.lock().await;
        let browser = Browser::start().await?;
        Some(Self {
            h: Harness::with_config(config).await,
            receiver: Receiver::start().await,
            browser,
            _turn: turn,
        })
    }

    /// The dashboard's URL of `path` (relative to `/_emulator/ui/`).
    fn ui(&self, path: &str) -> String {
        format!("http://{}/_emulator/ui/{path}", self.h.server.local_addr())
    }

    /// Signs in with company A's session token, as a person types it.
    async fn sign_in(&self) {
        let b = &self.browser;
        b.open(&self.ui("")).await;
        b.page_titled("Sign in").await;
        b.fill("#token", self.h.token.expose_secret()).await;
        b.click("#sign-in-token").await;
        b.page_titled("Deliveries").await;
    }

    /// Subscribes the receiver's `/hooks` to `event` (through the API).
    async fn subscribe(&self, event: &str) -> i64 {
        let value = self
            .h
            .create(
                "/event/subscription",
                &json!({"event": event, "targetUrl": self.receiver.url("/hooks")}),
            )
            .await;
        value["id"].as_i64().unwrap()
    }

    /// Opens the newest message's page from the Deliveries page.
    async fn open_newest_message(&self, event: &str) {
        let b = &self.browser;
        b.click("#deliveries-results tbody tr:first-child a").await;
        b.text_of("h1", event).await;
    }

    async fn close(self) {
        self.browser.close().await;
        self.h.server.shutdown().await;
    }
}

#[tokio::test]
async fn a_person_signs_in_with_a_session_token_and_out_again() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    let b = &scene.browser;
    b.open(&scene.ui("subscriptions")).await;
    b.page_titled("Sign in").await;
    b.fill("#token", "tlx-not-my-token").await;
    b.click("#sign-in-token").await;
    b.text_of("[role=alert]", "not accepted").await;
    b.fill("#token", scene.h.token.expose_secret()).await;
    b.click("#sign-in-token").await;
    // Back where they were going.
    b.page_titled("Subscriptions").await;
    b.click(".sign-out button").await;
    b.page_titled("Sign in").await;
    b.open(&scene.ui("")).await;
    b.page_titled("Sign in").await;
    scene.close().await;
}

#[tokio::test]
async fn a_delivery_appears_live_after_a_product_is_created() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    scene.subscribe("product.create").await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.text_of("#deliveries-results", "No messages yet.").await;
    b.run("window.stayedOnThePage = true;").await;
    scene
        .h
        .create("/product", &json!({"name": "Live espresso"}))
        .await;
    b.text_of("#deliveries-results tbody tr:first-child", "product.create")
        .await;
    b.text_of(
        "#deliveries-results tbody tr:first-child .status",
        "delivered",
    )
    .await;
    assert_eq!(
        b.run("return window.stayedOnThePage === true;").await,
        json!(true),
        "the row came without a reload"
    );
    assert_eq!(
        b.run("return document.body.dataset.live;").await,
        json!("stream"),
        "the page follows /_emulator/stream (not its polling fallback)"
    );
    scene.close().await;
}

#[tokio::test]
async fn a_message_shows_the_request_sent_and_the_receivers_answer() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    scene.subscribe("product.create").await;
    scene.subscribe("product.update").await;
    let h = &scene.h;
    let first = h.create("/product", &json!({"name": "Cortado"})).await;
    let id = first["id"].as_i64().unwrap();
    h.send(
        Method::PUT,
        &format!("/product/{id}"),
        &json!({"name": "Cortado (large)"}),
    )
    .await;
    h.create("/product", &json!({"name": "Flat white", "number": "FW-1"}))
        .await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.client.set_window_size(WIDE.0, WIDE.1).await.unwrap();
    b.text_of("#deliveries-results .summary", "of 3").await;
    for row in 1..=3 {
        b.text_of(
            &format!("#deliveries-results tbody tr:nth-child({row}) .status"),
            "delivered",
        )
        .await;
    }
    b.screenshot("deliveries").await;
    scene.open_newest_message("product.create").await;
    let request = b.text_of(".request-body", "\"name\": \"Flat white\"").await;
    assert!(
        request.contains("\"event\": \"product.create\""),
        "{request}"
    );
    b.text_of(".response-body", ANSWER).await;
    b.text_of("#attempt-1 .response .url", "200").await;
    b.text_of("#attempt-1 .request .url", &scene.receiver.url("/hooks"))
        .await;
    b.client.set_window_size(WIDE.0, 1500).await.unwrap();
    b.screenshot("message").await;
    scene.close().await;
}

#[tokio::test]
async fn redeliver_sends_the_message_again_as_a_second_attempt() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    scene.subscribe("product.create").await;
    scene
        .h
        .create("/product", &json!({"name": "Ristretto"}))
        .await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.text_of(
        "#deliveries-results tbody tr:first-child .status",
        "delivered",
    )
    .await;
    scene.open_newest_message("product.create").await;
    b.text_of("#attempt-1-heading", "Attempt 1").await;
    b.click("#redeliver").await;
    b.text_of("[role=status]", "Queued for delivery again.")
        .await;
    b.text_of("#attempt-2-heading", "Attempt 2").await;
    b.text_of("#delivery-status", "delivered").await;
    b.text_of("#delivery-attempts", "2").await;
    scene.close().await;
}

#[tokio::test]
async fn an_event_triggered_from_its_form_is_delivered() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    scene.subscribe("customer.create").await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.click("nav a[href=\"/_emulator/ui/events\"]").await;
    b.page_titled("Events").await;
    b.click("a[href=\"/_emulator/ui/events/customer.create\"]")
        .await;
    b.page_titled("Event customer.create").await;
    let prefilled = b.element("#e-value").await.prop("value").await.unwrap();
    assert!(
        prefilled.is_some_and(|v| v.contains("\"name\"")),
        "prefilled with the example"
    );
    b.click("#trigger").await;
    b.page_titled("Deliveries").await;
    b.text_of("[role=status]", "Event emitted").await;
    b.text_of(
        "#deliveries-results tbody tr:first-child",
        "customer.create",
    )
    .await;
    b.text_of(
        "#deliveries-results tbody tr:first-child .status",
        "delivered",
    )
    .await;
    scene.close().await;
}

#[tokio::test]
async fn a_subscription_disabled_for_errors_is_re_enabled() {
    let mut config = test_config();
    // The first failed delivery disables the subscription.
    config.disable_after = Duration::ZERO;
    let Some(scene) = Scene::start(config).await else {
        return;
    };
    scene.receiver.answer(500);
    let sub = scene.subscribe("product.create").await;
    scene.h.create("/product", &json!({"name": "Lungo"})).await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.click("nav a[href=\"/_emulator/ui/subscriptions\"]").await;
    b.page_titled("Subscriptions").await;
    let row = format!("tr[data-subscription-id=\"{sub}\"]");
    b.text_of(&format!("{row} .status"), "DISABLED_TOO_MANY_ERRORS")
        .await;
    b.text_of(&row, "failing since").await;
    scene.receiver.answer(200);
    b.text_of(&format!("{row} button"), "Re-enable").await;
    b.click(&format!("{row} button")).await;
    b.text_of("[role=status]", "Subscription re-enabled.").await;
    b.text_of(&format!("{row} .status"), "ACTIVE").await;
    let (_, one) = json(
        scene
            .h
            .request(Method::GET, &format!("/event/subscription/{sub}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one["value"]["status"], "ACTIVE");
    scene.close().await;
}

#[tokio::test]
async fn advancing_the_clock_fires_the_retry_that_was_due_later() {
    let mut config = test_config();
    config.retry_schedule = DurationList(vec![Duration::from_secs(600), Duration::from_secs(3600)]);
    let Some(scene) = Scene::start(config).await else {
        return;
    };
    scene.receiver.answer(500);
    scene.subscribe("product.create").await;
    scene.h.create("/product", &json!({"name": "Doppio"})).await;
    scene.sign_in().await;
    let b = &scene.browser;
    b.text_of("#deliveries-results tbody tr:first-child .answer", "500")
        .await;
    scene.open_newest_message("product.create").await;
    let message = b.client.current_url().await.unwrap();
    b.text_of("#delivery-status", "pending").await;
    b.text_of("#attempt-1", "500").await;
    scene.receiver.answer(200);
    b.click("nav a[href=\"/_emulator/ui/clock\"]").await;
    b.page_titled("Clock").await;
    b.fill("#c-by", "11m").await;
    b.click("#advance").await;
    b.text_of("[role=status]", "Clock advanced").await;
    b.text_of("#clock-ahead", "11m").await;
    b.open(message.as_str()).await;
    b.text_of("#attempt-2-heading", "Attempt 2").await;
    b.text_of("#delivery-status", "delivered").await;
    scene.close().await;
}

#[tokio::test]
async fn every_page_fits_a_narrow_window_and_shows_keyboard_focus() {
    let Some(scene) = Scene::start(test_config()).await else {
        return;
    };
    scene.subscribe("product.create").await;
    let product = scene
        .h
        .create(
            "/product",
            &json!({"name": "A product with a rather long name to wrap"}),
        )
        .await;
    let b = &scene.browser;
    b.client.set_window_size(390, 844).await.unwrap();
    b.open(&scene.ui("login")).await;
    b.page_titled("Sign in").await;
    // The first Tab reaches the skip link, and its focus can be seen.
    let tab = fantoccini::actions::KeyActions::new("keyboard".to_owned())
        .then(fantoccini::actions::KeyAction::Down { value: '\u{E004}' })
        .then(fantoccini::actions::KeyAction::Up { value: '\u{E004}' });
    b.client.perform_actions(tab).await.unwrap();
    let focus = b
        .run(
            "const e = document.activeElement; const s = getComputedStyle(e); \
             return [e.className, s.outlineStyle, s.outlineWidth];",
        )
        .await;
    assert_eq!(focus[0], "skip", "{focus}");
    assert_ne!(focus[1], "none", "{focus}");
    assert_ne!(focus[2], "0px", "{focus}");
    scene.sign_in().await;
    b.text_of(
        "#deliveries-results tbody tr:first-child .status",
        "delivered",
    )
    .await;
    let product_id = product["id"].as_i64().unwrap();
    for (path, title) in [
        ("", "Deliveries".to_owned()),
        ("deliveries/1", "Message 1: product.create".to_owned()),
        ("subscriptions", "Subscriptions".to_owned()),
        ("objects", "Objects".to_owned()),
        ("objects/product", "Objects: product".to_owned()),
        (
            &format!("objects/product/{product_id}"),
            format!("product {product_id}"),
        ),
        ("events", "Events".to_owned()),
        ("events/product.create", "Event product.create".to_owned()),
        ("clock", "Clock".to_owned()),
    ] {
        b.open(&scene.ui(path)).await;
        b.page_titled(&title).await;
        let fits = b
            .run(
                "const d = document.documentElement; \
                 return [d.scrollWidth, d.clientWidth];",
            )
            .await;
        let (scroll, client) = (fits[0].as_i64().unwrap(), fits[1].as_i64().unwrap());
        assert!(
            scroll <= client,
            "{title}: the page is {scroll} px wide in a {client} px window"
        );
    }
    scene.close().await;
}
