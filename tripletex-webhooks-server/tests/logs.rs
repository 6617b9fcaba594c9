//! No secret reaches the log at any level: the server binary runs at
//! `RUST_LOG=trace` while every endpoint family is used with secrets (the
//! consumer and employee tokens, session tokens in queries, paths and
//! `Authorization` headers, subscription `authHeaderValue`s and
//! `hmacSharedSecret`s, credentials in a `targetUrl`), deliveries succeed and
//! fail, and then its whole output is searched for each secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::receiver::Receiver;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use test_support::process::Process;
use tokio::process::Command;

const CONSUMER_TOKEN: &str = "consumer-secret-4f1c0d";
const EMPLOYEE_TOKEN: &str = "employee-secret-9a2b7e";
const WRONG_CONSUMER_TOKEN: &str = "wrong-consumer-secret-77aa";
const AUTH_VALUES: [&str; 3] = [
    "Bearer auth-secret-1-c3d4",
    "Bearer auth-secret-2-e5f6",
    "Bearer auth-secret-3-a7b8",
];
const HMAC_SECRETS: [&str; 2] = ["hmac-secret-1-0f9e", "hmac-secret-2-8d7c"];
const TARGET_PASSWORD: &str = "target-password-6b5a";

struct Api {
    http: reqwest::Client,
    root: String,
}

impl Api {
    fn call(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.root))
            .basic_auth("0", Some(token))
    }

    async fn json(&self, request: RequestBuilder, status: u16) -> Value {
        let response = request.send().await.unwrap();
        let actual = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(actual, status, "{body}");
        body
    }

    async fn session(&self, consumer_token: &str, status: u16) -> Value {
        let url = format!(
            "{}/v2/token/session/:create?consumerToken={consumer_token}&employeeToken={EMPLOYEE_TOKEN}&expirationDate=2099-01-01",
            self.root
        );
        self.json(self.http.put(url), status).await
    }
}

#[tokio::test]
async fn no_secret_reaches_the_log_at_trace_level() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = common::postgres_test_url()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("logs.db").display()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_tripletex-webhooks-server"));
    command
        .args(["--database", &database, "--listen", "127.0.0.1:0"])
        .args(["--consumer-token", CONSUMER_TOKEN])
        .args(["--employee-token", EMPLOYEE_TOKEN])
        .args(["--retry-schedule", "1m"])
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1");
    let mut server = Process::spawn("the server binary", command);
    let port = server
        .wait_for_line("the address it listens on", port)
        .await;
    let api = Api {
        http: reqwest::Client::new(),
        root: format!("http://127.0.0.1:{port}"),
    };

    // Session tokens: created (a wrong consumer token too), used, deleted.
    api.session(WRONG_CONSUMER_TOKEN, 401).await;
    let token = api.session(CONSUMER_TOKEN, 200).await["value"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = api.session(CONSUMER_TOKEN, 200).await["value"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    api.json(
        api.call(Method::GET, "/v2/token/session/%3EwhoAmI", &token),
        200,
    )
    .await;

    // Subscriptions with secrets: one to the receiver, one to nowhere.
    let authority = receiver.base.strip_prefix("http://").unwrap();
    let created = api
        .json(
            api.call(Method::POST, "/v2/event/subscription", &token)
                .json(&json!({
                    "event": "product.create",
                    "targetUrl": format!("http://hook-user:{TARGET_PASSWORD}@{authority}/hook"),
                    "authHeaderName": "X-Hook-Auth",
                    "authHeaderValue": AUTH_VALUES[0],
                    "hmacSharedSecret": HMAC_SECRETS[0],
                })),
            201,
        )
        .await;
    let id = created["value"]["id"].as_i64().unwrap();
    api.json(
        api.call(Method::PUT, &format!("/v2/event/subscription/{id}"), &token)
            .json(&json!({"version": 0, "authHeaderValue": AUTH_VALUES[1]})),
        200,
    )
    .await;
    let listed = api
        .json(
            api.call(Method::POST, "/v2/event/subscription/list", &token)
                .json(&json!([{
                    "event": "product.create",
                    "targetUrl": format!("http://u:{TARGET_PASSWORD}@127.0.0.1:9/closed"),
                    "authHeaderName": "Authorization",
                    "authHeaderValue": AUTH_VALUES[2],
                }])),
            201,
        )
        .await;
    let failing = listed["values"][0]["id"].as_i64().unwrap();
    api.json(
        api.call(Method::PUT, "/v2/event/subscription/list", &token)
            .json(&json!([{"id": failing, "version": 0, "hmacSharedSecret": HMAC_SECRETS[1]}])),
        200,
    )
    .await;
    api.json(
        api.call(Method::GET, "/v2/event/subscription?fields=*", &token),
        200,
    )
    .await;
    api.json(
        api.call(Method::GET, &format!("/v2/event/subscription/{id}"), &token),
        200,
    )
    .await;

    // Deliveries: a resource write, an emulated event, a redelivery; the
    // failing target is retried after the clock moves.
    api.json(
        api.call(Method::POST, "/v2/product", &token)
            .json(&json!({"name": "Espresso"})),
        201,
    )
    .await;
    api.json(
        api.call(Method::POST, "/_emulator/events", &token).json(
            &json!({"event": "product.create", "id": 4242, "value": {"id": 4242, "name": "Latte"}}),
        ),
        201,
    )
    .await;
    let callbacks = receiver.wait_for(2, test_support::WITHIN).await;
    assert_eq!(callbacks[0].header("x-hook-auth"), Some(AUTH_VALUES[1]));
    assert!(callbacks[0].header("authorization").is_some());
    assert!(callbacks[0].header("x-request-signature").is_some());
    api.json(api.call(Method::GET, "/_emulator/clock", &token), 200)
        .await;
    let deliveries =
        test_support::eventually("a delivery and a failed attempt recorded", || async {
            let body = api
                .json(api.call(Method::GET, "/_emulator/deliveries", &token), 200)
                .await;
            let values = body["values"].as_array().cloned().unwrap_or_default();
            let failed = values
                .iter()
                .any(|d| d["subscriptionId"] == failing && d["attempts"].as_i64() >= Some(1));
            let delivered = values
                .iter()
                .any(|d| d["subscriptionId"] == id && d["status"] == "delivered");
            (failed && delivered).then_some(values)
        })
        .await;
    api.json(
        api.call(Method::POST, "/_emulator/clock/advance", &token)
            .json(&json!({"seconds": 120})),
        200,
    )
    .await;
    let delivered = deliveries
        .iter()
        .find(|d| d["subscriptionId"] == id && d["status"] == "delivered")
        .unwrap();
    let redeliver = format!("/_emulator/deliveries/{}/redeliver", delivered["id"]);
    let response = api
        .call(Method::POST, &redeliver, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    receiver.wait_for(3, test_support::WITHIN).await;
    server
        .wait_for_line("the failed attempt's retry", |line| {
            (line.contains(" failed in ") && line.contains("attempt=2")).then_some(())
        })
        .await;

    // Every delivery settled first, so the log holds every outcome.
    test_support::eventually("every delivery settled", || async {
        let body = api
            .json(api.call(Method::GET, "/_emulator/deliveries", &token), 200)
            .await;
        let values = body["values"].as_array().cloned().unwrap_or_default();
        values
            .iter()
            .all(|d| d["status"] == "delivered" || d["status"] == "failed")
            .then_some(())
    })
    .await;

    // Deletions: subscriptions, a session token by its path, then a reset.
    api.json(
        api.call(
            Method::DELETE,
            &format!("/v2/event/subscription/list?ids={failing}"),
            &token,
        ),
        204,
    )
    .await;
    let response = api
        .call(
            Method::DELETE,
            &format!("/v2/token/session/{other}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    api.json(
        api.call(Method::GET, "/v2/token/session/%3EwhoAmI", &other),
        401,
    )
    .await;
    let response = api
        .call(Method::POST, "/_emulator/reset", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    assert!(server.terminate().await.success());
    let log = server.output();
    let basic = |t: &str| base64::engine::general_purpose::STANDARD.encode(format!("0:{t}"));
    let secrets = [
        CONSUMER_TOKEN.to_owned(),
        EMPLOYEE_TOKEN.to_owned(),
        WRONG_CONSUMER_TOKEN.to_owned(),
        token.clone(),
        other.clone(),
        basic(&token),
        basic(&other),
        TARGET_PASSWORD.to_owned(),
    ]
    .into_iter()
    .chain(
        AUTH_VALUES
            .iter()
            .map(|v| v.trim_start_matches("Bearer ").to_owned()),
    )
    .chain(HMAC_SECRETS.iter().map(|s| (*s).to_owned()));
    for secret in secrets {
        assert!(!log.contains(&secret), "{secret:?} is in the log:\n{log}");
    }
    // The log really holds the requests, with their targets redacted.
    for expected in [
        "/v2/token/session/:create?consumerToken=<redacted>&employeeToken=<redacted>&expirationDate=2099-01-01",
        "DELETE target=/v2/token/session/<redacted>",
        "/_emulator/clock/advance",
        " failed in ",
        " TRACE ",
    ] {
        assert!(log.contains(expected), "no {expected:?} in the log:\n{log}");
    }
}

/// The port in the start-up line, `... on http://127.0.0.1:PORT/v2 ...`.
fn port(line: &str) -> Option<u16> {
    let rest = &line[line.find("http://127.0.0.1:")? + "http://127.0.0.1:".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
