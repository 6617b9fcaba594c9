//! Session tokens, authentication, request ids, rate limits and error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    DEFAULT_CONSUMER_TOKEN, EMPLOYEE_TOKENS, Harness, assert_api_error, json, test_config,
};
use reqwest::Method;
use secrecy::SecretString;

fn create_path(consumer: &str, employee: &str, date: &str) -> String {
    format!(
        "/token/session/:create?consumerToken={consumer}&employeeToken={employee}&expirationDate={date}"
    )
}

#[tokio::test]
async fn create_a_session_and_use_it() {
    let h = Harness::start().await;
    let response = h
        .anonymous(
            Method::PUT,
            &create_path(DEFAULT_CONSUMER_TOKEN, EMPLOYEE_TOKENS[0], "2099-01-01"),
        )
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    let token = body["value"]["token"].as_str().unwrap().to_owned();
    assert_eq!(body["value"]["expirationDate"], "2099-01-01");
    assert!(
        body["value"]["url"]
            .as_str()
            .unwrap()
            .contains("/v2/token/session/")
    );

    let me = h
        .as_token(
            &SecretString::from(token.clone()),
            Method::GET,
            "/token/session/%3EwhoAmI",
        )
        .send()
        .await
        .unwrap();
    let (status, me) = json(me).await;
    assert_eq!(status, 200, "{me}");
    assert!(me["value"]["companyId"].as_i64().unwrap() > 0);

    // The company id works as the username too.
    let company_id = me["value"]["companyId"].as_i64().unwrap();
    let response = h
        .anonymous(Method::GET, "/token/session/%3EwhoAmI?fields=companyId")
        .basic_auth(company_id, Some(&token))
        .send()
        .await
        .unwrap();
    let (status, filtered) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        filtered["value"],
        serde_json::json!({"companyId": company_id})
    );

    // Revoked tokens stop working.
    let response = h
        .as_token(
            &SecretString::from(token.clone()),
            Method::DELETE,
            &format!("/token/session/{token}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let response = h
        .as_token(
            &SecretString::from(token),
            Method::GET,
            "/token/session/%3EwhoAmI",
        )
        .send()
        .await
        .unwrap();
    assert_api_error(response, 401, 3000).await;
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let h = Harness::start().await;
    for path in [
        create_path("wrong-consumer", EMPLOYEE_TOKENS[0], "2099-01-01"),
        create_path(DEFAULT_CONSUMER_TOKEN, "unknown-employee", "2099-01-01"),
    ] {
        let response = h.anonymous(Method::PUT, &path).send().await.unwrap();
        assert_api_error(response, 401, 3000).await;
    }
    // No header, a non-Basic header, an unknown token, another company's id.
    let response = h
        .anonymous(Method::GET, "/event/subscription")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 401, 3000).await;
    let response = h
        .anonymous(Method::GET, "/event/subscription")
        .bearer_auth("abc")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 401, 3000).await;
    let response = h
        .as_token(
            &SecretString::from("tlx-not-a-session"),
            Method::GET,
            "/event/subscription",
        )
        .send()
        .await
        .unwrap();
    assert_api_error(response, 401, 3000).await;
    let response = h
        .anonymous(Method::GET, "/token/session/%3EwhoAmI")
        .basic_auth(
            "999999",
            Some(secrecy::ExposeSecret::expose_secret(&h.token)),
        )
        .send()
        .await
        .unwrap();
    let body = assert_api_error(response, 401, 3000).await;
    assert!(
        body["developerMessage"]
            .as_str()
            .unwrap()
            .contains("invalid username")
    );
}

#[tokio::test]
async fn session_parameters_are_validated() {
    let h = Harness::start().await;
    let response = h
        .anonymous(Method::PUT, "/token/session/:create?consumerToken=x")
        .send()
        .await
        .unwrap();
    assert_api_error(response, 422, 21000).await;
    for date in ["2001-01-01", "tomorrow"] {
        let response = h
            .anonymous(
                Method::PUT,
                &create_path(DEFAULT_CONSUMER_TOKEN, EMPLOYEE_TOKENS[0], date),
            )
            .send()
            .await
            .unwrap();
        let body = assert_api_error(response, 422, 18000).await;
        assert_eq!(body["validationMessages"][0]["field"], "expirationDate");
    }
}

#[tokio::test]
async fn sessions_expire_at_midnight_of_their_date() {
    let h = Harness::start().await;
    let tomorrow_date = h.server.clock().now().date() + time::Duration::days(1);
    let tomorrow = tomorrow_date.to_string();
    let response = h
        .anonymous(
            Method::PUT,
            &create_path(DEFAULT_CONSUMER_TOKEN, EMPLOYEE_TOKENS[0], &tomorrow),
        )
        .send()
        .await
        .unwrap();
    let (_, body) = json(response).await;
    let token = SecretString::from(body["value"]["token"].as_str().unwrap().to_owned());
    let ok = h
        .as_token(&token, Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // Valid until just before midnight (UTC) starting its date...
    let midnight = tomorrow_date.midnight().assume_utc();
    let margin = Duration::from_secs(5);
    let until_midnight: Duration = (midnight - h.server.clock().now()).try_into().unwrap();
    h.server
        .clock()
        .advance(until_midnight.checked_sub(margin).unwrap());
    let still = h
        .as_token(&token, Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    assert_eq!(still.status().as_u16(), 200, "{margin:?} before midnight");
    // ...and expired from that midnight on. The clock moves in whole
    // milliseconds, so step to the first millisecond at or past midnight.
    let rest: Duration = (midnight - h.server.clock().now()).try_into().unwrap();
    h.server.clock().advance(Duration::from_millis(
        u64::try_from(rest.as_millis()).unwrap() + 1,
    ));
    assert!(h.server.clock().now() >= midnight);
    let expired = h
        .as_token(&token, Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    let body = assert_api_error(expired, 401, 3000).await;
    assert!(
        body["developerMessage"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn every_kind_of_response_has_a_request_id_and_rate_limit_headers() {
    let h = Harness::start().await;
    // Public and authenticated, success and error, unknown path and wrong
    // method, refused credentials.
    let responses = [
        ("public 200", h.anonymous(Method::GET, "/event")),
        (
            "authenticated 200",
            h.request(Method::GET, "/event/subscription"),
        ),
        ("404", h.request(Method::GET, "/no/such/thing")),
        ("405", h.request(Method::PATCH, "/event/subscription")),
        ("401", h.anonymous(Method::GET, "/event/subscription")),
        ("422", h.request(Method::GET, "/event/subscription?from=-1")),
    ];
    for (what, request) in responses {
        let response = request.send().await.unwrap();
        for header in [
            "x-tlx-request-id",
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
        ] {
            assert!(
                response.headers().contains_key(header),
                "{what} ({}): {header} missing",
                response.status()
            );
        }
    }
    let unknown = h
        .request(Method::GET, "/no/such/thing")
        .send()
        .await
        .unwrap();
    assert_api_error(unknown, 404, 6000).await;
    let wrong_method = h
        .request(Method::PATCH, "/event/subscription")
        .send()
        .await
        .unwrap();
    let body = assert_api_error(wrong_method, 405, 4000).await;
    assert_eq!(body["status"], 405);
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_token() {
    let mut config = test_config();
    config.rate_limit = Some("3/1m".parse().unwrap());
    let h = Harness::with_config(config).await;
    for remaining in (0..3).rev() {
        let response = h
            .request(Method::GET, "/token/session/%3EwhoAmI")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["x-rate-limit-remaining"],
            remaining.to_string().as_str()
        );
    }
    let limited = h
        .request(Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.headers()["x-rate-limit-limit"], "3");
    let reset: u64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset));
    assert_api_error(limited, 429, 0).await;
    // Another token has its own window.
    let other = h
        .request_as_other(Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);
    // The window ends with the server clock.
    h.server.clock().advance(Duration::from_secs(61));
    let again = h
        .request(Method::GET, "/token/session/%3EwhoAmI")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200);
}
