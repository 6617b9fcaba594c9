//! The dashboard (`/_emulator/ui/`) over HTTP: signing in and out, the
//! cookie (HttpOnly, SameSite=Strict, no secret in it, good only for the
//! emulator's routes), the Origin check on forms, every page with its
//! content and without any secret, the forms, and `--no-emulator-api`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::receiver::Receiver;
use common::{EMPLOYEE_TOKENS, Harness, json, test_config};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use test_support::eventually;
use tripletex_webhooks_server::{RunningServer, ServerConfig};

const AUTH_VALUE: &str = "Bearer ui-header-secret-41f7";
const HMAC_SECRET: &str = "ui-hmac-secret-8d2c";

/// `http://127.0.0.1:PORT` + `path`.
fn at(h: &Harness, path: &str) -> String {
    format!("http://{}{path}", h.server.local_addr())
}

/// This server's origin, as a browser sends it with a form.
fn origin(h: &Harness) -> String {
    format!("http://{}", h.server.local_addr())
}

/// Posts a form to `path` from the server's own origin, with `cookie` if given.
async fn post_form(
    h: &Harness,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = h
        .http
        .post(at(h, path))
        .header(ORIGIN, origin(h))
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// The `name=value` of the dashboard's cookie in a response's `Set-Cookie`.
fn set_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let header = response.headers().get(SET_COOKIE)?.to_str().unwrap();
    let pair = header.split(';').next()?.trim().to_owned();
    Some((pair, header.to_owned()))
}

/// Signs in with company A's session token: the `Cookie` header to send.
async fn sign_in(h: &Harness) -> String {
    let token = h.token.expose_secret().to_owned();
    let response = post_form(h, "/_emulator/ui/login", None, &[("token", &token)]).await;
    assert_eq!(response.status(), 303);
    set_cookie(&response).expect("a cookie").0
}

/// `GET path` with the cookie: status and body.
async fn page(h: &Harness, path: &str, cookie: &str) -> (u16, String) {
    let response = h
        .http
        .get(at(h, path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The text of HTML with askama's escapes undone (to look for values in it).
fn unescaped(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// A page that must answer 200 with HTML titled `title`: its body.
async fn page_ok(h: &Harness, path: &str, cookie: &str, title: &str) -> String {
    let (status, body) = page(h, path, cookie).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(
        body.contains(&format!("<title>{title} · Tripletex emulator</title>")),
        "{path} is titled {title}: {body}"
    );
    body
}

async fn subscribe(h: &Harness, event: &str, target: &str) -> i64 {
    let value = h
        .create(
            "/event/subscription",
            &json!({
                "event": event,
                "targetUrl": target,
                "authHeaderName": "X-Auth",
                "authHeaderValue": AUTH_VALUE,
                "hmacSharedSecret": HMAC_SECRET,
            }),
        )
        .await;
    value["id"].as_i64().unwrap()
}

/// The delivery log's messages, newest first.
async fn deliveries(h: &Harness) -> Vec<Value> {
    let (status, body) = json(
        h.emulator(Method::GET, "/_emulator/deliveries")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    body["values"].as_array().unwrap().clone()
}

/// Waits for `n` messages to be delivered.
async fn delivered(h: &Harness, n: usize) -> Vec<Value> {
    eventually("the deliveries", || async {
        let all = deliveries(h).await;
        let done = all.iter().filter(|d| d["status"] == "delivered").count();
        (done >= n).then_some(all)
    })
    .await
}

#[tokio::test]
async fn pages_send_a_person_without_a_cookie_to_sign_in() {
    let h = Harness::start().await;
    for path in [
        "/_emulator/ui/",
        "/_emulator/ui/deliveries/1",
        "/_emulator/ui/subscriptions",
        "/_emulator/ui/objects",
        "/_emulator/ui/objects/product",
        "/_emulator/ui/events",
        "/_emulator/ui/clock",
    ] {
        let response = h.http.get(at(&h, path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(location, format!("/_emulator/ui/login?next={next}"));
    }
    let (status, body) = page(&h, "/_emulator/ui/login", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("<label for=\"token\">Session token</label>"));
    assert!(body.contains("<label for=\"consumerToken\">Consumer token</label>"));
    // A forged or stale cookie is no sign-in either.
    let (status, _) = page(&h, "/_emulator/ui/", "tlx_dashboard=forged").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_get_no_cookie() {
    let h = Harness::start().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("token", "tlx-not-a-token")],
        &[
            ("consumerToken", "wrong"),
            ("employeeToken", EMPLOYEE_TOKENS[0]),
        ],
        &[
            ("consumerToken", common::DEFAULT_CONSUMER_TOKEN),
            ("employeeToken", "wrong"),
        ],
        &[],
    ];
    for fields in cases {
        let response = post_form(&h, "/_emulator/ui/login", None, fields).await;
        assert_eq!(response.status(), 401, "{fields:?}");
        assert!(set_cookie(&response).is_none(), "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("Those credentials were not accepted"),
            "{body}"
        );
        for (_, value) in fields {
            assert!(!body.contains(value), "the page repeats {value}");
        }
    }
}

#[tokio::test]
async fn a_session_token_signs_in_with_a_cookie_that_is_no_token() {
    let h = Harness::start().await;
    let token = h.token.expose_secret().to_owned();
    let response = post_form(
        &h,
        "/_emulator/ui/login",
        None,
        &[("token", &token), ("next", "/_emulator/ui/clock")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/_emulator/ui/clock");
    let (cookie, header) = set_cookie(&response).unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/_emulator"] {
        assert!(header.contains(attribute), "{header}");
    }
    let value = cookie.strip_prefix("tlx_dashboard=").unwrap();
    assert!(!value.contains(&token) && !token.contains(value));
    page_ok(&h, "/_emulator/ui/clock", &cookie, "Clock").await;

    // The cookie's value works nowhere as a session token...
    let as_token = h
        .http
        .get(h.url("/event/subscription"))
        .basic_auth("0", Some(value))
        .send()
        .await
        .unwrap();
    assert_eq!(as_token.status(), 401);
    // ...and the cookie itself only on the emulator's routes.
    let on_v2 = h
        .http
        .get(h.url("/event/subscription"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(on_v2.status(), 401);
    let (status, _) = page(&h, "/_emulator/deliveries", &cookie).await;
    assert_eq!(status, 200);
    let (status, body) = page(&h, "/_emulator/clock", &cookie).await;
    assert_eq!(status, 200, "{body}");

    // Elsewhere, `next` is ignored.
    let response = post_form(
        &h,
        "/_emulator/ui/login",
        None,
        &[("token", &token), ("next", "https://evil.example/")],
    )
    .await;
    assert_eq!(response.headers()[LOCATION], "/_emulator/ui/");
}

#[tokio::test]
async fn the_consumer_and_employee_tokens_sign_in_as_their_company() {
    let h = Harness::start().await;
    let response = post_form(
        &h,
        "/_emulator/ui/login",
        None,
        &[
            ("consumerToken", common::DEFAULT_CONSUMER_TOKEN),
            ("employeeToken", EMPLOYEE_TOKENS[1]),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let cookie = set_cookie(&response).unwrap().0;
    // Company B sees its own subscriptions, not A's.
    subscribe(&h, "product.create", "http://127.0.0.1:9/a").await;
    let body = page_ok(&h, "/_emulator/ui/subscriptions", &cookie, "Subscriptions").await;
    assert!(body.contains("No subscriptions yet"), "{body}");
}

#[tokio::test]
async fn the_cookie_opens_the_stream_the_page_follows() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    subscribe(&h, "product.create", &receiver.url("/hooks")).await;
    let cookie = sign_in(&h).await;
    let without = h
        .http
        .get(at(&h, "/_emulator/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 401);
    let mut stream = h
        .http
        .get(at(&h, "/_emulator/stream"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    h.create("/product", &json!({"name": "Streamed"})).await;
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains("event: attempt") {
            let chunk = stream.chunk().await.unwrap().expect("the stream goes on");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("an attempt on the stream within the bound");
    assert!(seen.contains("product.create"), "{seen}");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let h = Harness::start().await;
    let cookie = sign_in(&h).await;
    let response = post_form(&h, "/_emulator/ui/logout", Some(&cookie), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/_emulator/ui/login");
    let (_, header) = set_cookie(&response).unwrap();
    assert!(header.contains("Max-Age=0"), "{header}");
    let (status, _) = page(&h, "/_emulator/ui/", &cookie).await;
    assert_eq!(status, 303);
    let (status, _) = page(&h, "/_emulator/deliveries", &cookie).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn forms_and_cookie_calls_from_another_origin_are_refused() {
    let h = Harness::start().await;
    let cookie = sign_in(&h).await;
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let mut request = h
            .http
            .post(at(&h, "/_emulator/ui/clock"))
            .header(COOKIE, &cookie)
            .form(&[("by", "1h")]);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin:?}");
        // The same for the emulator API called with the cookie.
        let mut request = h
            .http
            .post(at(&h, "/_emulator/clock/advance"))
            .header(COOKIE, &cookie)
            .json(&json!({"seconds": 3600}));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        assert_eq!(request.send().await.unwrap().status(), 403, "{origin:?}");
    }
    let (_, clock) = json(
        h.emulator(Method::GET, "/_emulator/clock")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(clock["value"]["offsetMs"], 0, "nothing moved the clock");
    // Signing in from elsewhere is refused too (no forced sign-in).
    let token = h.token.expose_secret().to_owned();
    let response = h
        .http
        .post(at(&h, "/_emulator/ui/login"))
        .header(ORIGIN, "http://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(set_cookie(&response).is_none());
    // From the server's own origin the same calls work.
    let response = h
        .http
        .post(at(&h, "/_emulator/clock/advance"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, origin(&h))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn every_page_shows_its_content_and_no_secret() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let sub = subscribe(
        &h,
        "product.create",
        &receiver.url("/hooks?key=query-secret-5c1a"),
    )
    .await;
    let product = h
        .create("/product", &json!({"name": "Dashboard <b>espresso</b>"}))
        .await;
    let product_id = product["id"].as_i64().unwrap();
    let messages = delivered(&h, 1).await;
    let message = messages[0]["id"].as_i64().unwrap();
    let cookie = sign_in(&h).await;

    let body = page_ok(&h, "/_emulator/ui/", &cookie, "Deliveries").await;
    assert!(body.contains(&format!("href=\"/_emulator/ui/deliveries/{message}\"")));
    assert!(body.contains("product.create") && body.contains("status-delivered"));
    assert!(body.contains("<label for=\"f-event\">Event</label>"));
    let filtered = page_ok(
        &h,
        &format!("/_emulator/ui/?subscriptionId={sub}&status=delivered&event=product.create&objectId={product_id}"),
        &cookie,
        "Deliveries",
    )
    .await;
    assert!(filtered.contains("Messages 1–1 of 1"), "{filtered}");
    let none = page_ok(&h, "/_emulator/ui/?status=failed", &cookie, "Deliveries").await;
    assert!(none.contains("No messages yet."));
    let bad = page_ok(&h, "/_emulator/ui/?objectId=abc", &cookie, "Deliveries").await;
    assert!(
        bad.contains("role=\"alert\""),
        "a bad filter is said on the page"
    );

    let detail = page_ok(
        &h,
        &format!("/_emulator/ui/deliveries/{message}"),
        &cookie,
        &format!("Message {message}: product.create"),
    )
    .await;
    assert!(detail.contains("Attempt 1") && detail.contains("id=\"redeliver\""));
    let text = unescaped(&detail);
    assert!(
        text.contains("\"event\": \"product.create\""),
        "pretty JSON body: {text}"
    );
    assert!(
        text.contains("x-auth") && text.contains("<redacted>"),
        "{text}"
    );

    let subscriptions = page_ok(&h, "/_emulator/ui/subscriptions", &cookie, "Subscriptions").await;
    assert!(subscriptions.contains("header X-Auth, HMAC-SHA256 signature"));
    assert!(
        unescaped(&subscriptions).contains("key=<redacted>"),
        "{subscriptions}"
    );
    assert!(subscriptions.contains("Disable") && subscriptions.contains("ACTIVE"));

    let objects = page_ok(&h, "/_emulator/ui/objects", &cookie, "Objects").await;
    for resource in common::RESOURCES {
        assert!(
            objects.contains(&format!("href=\"/_emulator/ui/objects/{}\"", resource.path)),
            "{}",
            resource.path
        );
    }
    let list = page_ok(
        &h,
        "/_emulator/ui/objects/product",
        &cookie,
        "Objects: product",
    )
    .await;
    assert!(list.contains(&format!("/_emulator/ui/objects/product/{product_id}")));
    let accounts = page_ok(
        &h,
        "/_emulator/ui/objects/ledger/account",
        &cookie,
        "Objects: ledger/account",
    )
    .await;
    assert!(accounts.contains("objects"));
    let object = page_ok(
        &h,
        &format!("/_emulator/ui/objects/product/{product_id}"),
        &cookie,
        &format!("product {product_id}"),
    )
    .await;
    assert!(
        object.contains("Dashboard &#60;b&#62;espresso&#60;/b&#62;"),
        "escaped: {object}"
    );
    assert!(!object.contains("<b>espresso"));
    assert!(object.contains("CREATE") && object.contains("keeps only the current version"));
    let (status, _) = page(&h, "/_emulator/ui/objects/nothing/1", &cookie).await;
    assert_eq!(status, 404);

    let events = page_ok(&h, "/_emulator/ui/events", &cookie, "Events").await;
    assert!(events.contains("href=\"/_emulator/ui/events/product.create\""));
    assert!(events.contains("notification.sent"));
    let event = page_ok(
        &h,
        "/_emulator/ui/events/customer.update",
        &cookie,
        "Event customer.update",
    )
    .await;
    assert!(event.contains("<label for=\"e-value\">"));
    assert!(unescaped(&event).contains("\"subscriptionId\""));
    let (status, _) = page(&h, "/_emulator/ui/events/nothing.create", &cookie).await;
    assert_eq!(status, 404);

    let clock = page_ok(&h, "/_emulator/ui/clock", &cookie, "Clock").await;
    assert!(clock.contains("<label for=\"c-by\">"));

    let login = page(&h, "/_emulator/ui/login", "").await.1;
    for (path, body) in [
        ("deliveries", &body),
        ("detail", &detail),
        ("subscriptions", &subscriptions),
        ("object", &object),
        ("events", &events),
        ("event", &event),
        ("clock", &clock),
        ("login", &login),
    ] {
        for secret in [
            AUTH_VALUE,
            HMAC_SECRET,
            "query-secret-5c1a",
            h.token.expose_secret(),
            h.other_token.expose_secret(),
            common::DEFAULT_CONSUMER_TOKEN,
            EMPLOYEE_TOKENS[0],
            EMPLOYEE_TOKENS[1],
            cookie.strip_prefix("tlx_dashboard=").unwrap(),
        ] {
            assert!(!body.contains(secret), "the {path} page shows a secret");
        }
    }
}

#[tokio::test]
async fn pages_come_with_their_assets_and_a_strict_content_policy() {
    let h = Harness::start().await;
    let cookie = sign_in(&h).await;
    let response = h
        .http
        .get(at(&h, "/_emulator/ui/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    for (path, kind) in [
        ("/_emulator/ui/assets/dashboard.css", "text/css"),
        ("/_emulator/ui/assets/live.js", "text/javascript"),
    ] {
        let response = h.http.get(at(&h, path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
    }
    let live = h
        .http
        .get(at(&h, "/_emulator/ui/assets/live.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(live.contains("new EventSource(\"/_emulator/stream\")"));
}

#[tokio::test]
async fn the_forms_do_what_their_buttons_say() {
    let h = Harness::start().await;
    let receiver = Receiver::start().await;
    let cookie = sign_in(&h).await;

    // Create from the form; a bad one is said on the page, its secrets not repeated.
    let response = post_form(
        &h,
        "/_emulator/ui/subscriptions",
        Some(&cookie),
        &[
            ("event", "product.create"),
            ("targetUrl", "not a url"),
            ("authHeaderName", "X-Auth"),
            ("authHeaderValue", AUTH_VALUE),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("targetUrl:") && !body.contains(AUTH_VALUE),
        "{body}"
    );
    let target = receiver.url("/hooks");
    let response = post_form(
        &h,
        "/_emulator/ui/subscriptions",
        Some(&cookie),
        &[
            ("event", "customer.create"),
            ("targetUrl", &target),
            ("hmacSharedSecret", HMAC_SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[LOCATION],
        "/_emulator/ui/subscriptions?notice=created"
    );
    let (_, list) = json(
        h.request(Method::GET, "/event/subscription")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sub = list["values"][0]["id"].as_i64().unwrap();

    // Trigger from the event's form: delivered, with the secret's signature.
    let response = post_form(
        &h,
        "/_emulator/ui/events/customer.create",
        Some(&cookie),
        &[
            ("id", "77"),
            ("value", r#"{"id": 77, "name": "From the form"}"#),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()[LOCATION],
        "/_emulator/ui/?event=customer.create&notice=triggered"
    );
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].json()["value"]["name"], "From the form");
    let bad = post_form(
        &h,
        "/_emulator/ui/events/customer.create",
        Some(&cookie),
        &[("id", "x"), ("value", "{not json")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("id: must be a whole number") && body.contains("value: not JSON"));

    // Redeliver from the message's page.
    let message = delivered(&h, 1).await[0]["id"].as_i64().unwrap();
    let response = post_form(
        &h,
        &format!("/_emulator/ui/deliveries/{message}/redeliver"),
        Some(&cookie),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    receiver.wait_for(2, Duration::from_secs(10)).await;
    let response = post_form(
        &h,
        "/_emulator/ui/deliveries/999999/redeliver",
        Some(&cookie),
        &[],
    )
    .await;
    assert_eq!(
        response.headers()[LOCATION],
        "/_emulator/ui/deliveries/999999?notice=not-redeliverable"
    );

    // Disable and re-enable.
    for (status, expected) in [("DISABLED", "DISABLED"), ("ACTIVE", "ACTIVE")] {
        let response = post_form(
            &h,
            &format!("/_emulator/ui/subscriptions/{sub}/status"),
            Some(&cookie),
            &[("status", status)],
        )
        .await;
        assert_eq!(response.status(), 303);
        let (_, one) = json(
            h.request(Method::GET, &format!("/event/subscription/{sub}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(one["value"]["status"], expected);
    }
    let response = post_form(
        &h,
        &format!("/_emulator/ui/subscriptions/{sub}/status"),
        Some(&cookie),
        &[("status", "DISABLED_TOO_MANY_ERRORS")],
    )
    .await;
    assert_eq!(response.status(), 422);

    // Advance the clock by a humantime duration; nonsense is said on the page.
    let response = post_form(
        &h,
        "/_emulator/ui/clock",
        Some(&cookie),
        &[("by", "1h 30m")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, clock) = json(
        h.emulator(Method::GET, "/_emulator/clock")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(clock["value"]["offsetMs"].as_i64().unwrap() >= 5_400_000);
    let response = post_form(&h, "/_emulator/ui/clock", Some(&cookie), &[("by", "soon")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("is not a duration"));
}

#[tokio::test]
async fn the_local_credentials_sign_in_by_themselves_on_loopback() {
    let server = RunningServer::start(ServerConfig::for_tests())
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    let response = http
        .get(format!(
            "{base}/_emulator/ui/login?next=/_emulator/ui/events"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/_emulator/ui/events");
    let cookie = set_cookie(&response).unwrap().0;
    let page = http
        .get(format!("{base}/_emulator/ui/events"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        server.dashboard_url(),
        Some(format!("{base}/_emulator/ui/"))
    );
    server.shutdown().await;

    // Other credentials are never used by themselves.
    let h = Harness::start().await;
    let response = h
        .http
        .get(at(&h, "/_emulator/ui/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response).is_none());
}

#[tokio::test]
async fn the_start_up_banner_links_the_dashboard() {
    let mut server =
        common::process::ServerProcess::start("sqlite::memory:", "banner-employee-token", &[])
            .await;
    let root = server.base();
    let expected = format!("Dashboard: {}/_emulator/ui/", root.trim_end_matches("/v2"));
    server
        .wait_for_line("the dashboard's link", |line| {
            (line.trim() == expected).then_some(())
        })
        .await;
    server.kill().await;
}

#[tokio::test]
async fn without_the_emulator_api_there_is_no_dashboard() {
    let mut config = test_config();
    config.no_emulator_api = true;
    let h = Harness::with_config(config).await;
    assert_eq!(h.server.dashboard_url(), None);
    for path in [
        "/_emulator/ui/",
        "/_emulator/ui",
        "/_emulator/ui/login",
        "/_emulator/ui/assets/live.js",
    ] {
        let response = h.http.get(at(&h, path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let token = h.token.expose_secret().to_owned();
    let response = post_form(&h, "/_emulator/ui/login", None, &[("token", &token)]).await;
    assert_eq!(response.status(), 404);
}
