//! What only Tripletex does, played by wiremock: rate limits and refused
//! credentials. Secrets never appear in the output.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Cli;

const SESSION: &str = "session-token-never-printed";

fn api_error(status: u16, code: i32, message: &str, request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-tlx-request-id", request_id)
        .set_body_json(serde_json::json!({
            "status": status, "code": code, "message": message,
            "developerMessage": null, "validationMessages": null, "requestId": request_id,
        }))
}

fn empty_list() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "fullResultSize": 0, "from": 0, "count": 0, "versionDigest": null, "values": [],
    }))
}

async fn tripletex() -> (MockServer, Cli) {
    let server = MockServer::start().await;
    let cli = Cli::new(&format!("{}/v2", server.uri())).env("TRIPLETEX_SESSION_TOKEN", SESSION);
    (server, cli)
}

#[tokio::test]
async fn a_rate_limit_that_resets_soon_is_waited_out() {
    let (server, cli) = tripletex().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .respond_with(
            api_error(429, 15000, "Too many requests", "r-429")
                .insert_header("x-rate-limit-reset", "1"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .respond_with(empty_list())
        .mount(&server)
        .await;
    let run = cli.run(&["subscriptions", "list"]).await;
    assert_eq!(run.ok().stdout.trim(), "no subscriptions");
    run.never_prints(&[SESSION]);
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        2,
        "one retry"
    );
}

#[tokio::test]
async fn a_lasting_rate_limit_is_one_line_with_the_message_and_exit_4() {
    let (server, cli) = tripletex().await;
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .respond_with(
            api_error(429, 15000, "Request rate limit exceeded", "r-limited")
                .insert_header("x-rate-limit-reset", "3600"),
        )
        .mount(&server)
        .await;
    let run = cli.run(&["subscriptions", "list"]).await;
    let line = run.expect_code(4).one_line_error();
    assert!(
        line.contains("rate limited") && line.contains("Request rate limit exceeded"),
        "{line}"
    );
    assert!(
        line.contains("r-limited") && line.contains("resets in 3600s"),
        "{line}"
    );
    run.never_prints(&[SESSION]);

    let json = cli.run(&["--json", "subscriptions", "list"]).await;
    json.expect_code(4);
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "rate_limited");
    assert_eq!(error["error"]["requestId"], "r-limited");
}

#[tokio::test]
async fn refused_credentials_are_one_clear_line_and_exit_3() {
    let (server, cli) = tripletex().await;
    Mock::given(method("GET"))
        .respond_with(api_error(
            401,
            3000,
            "Unauthorized: the token is not valid",
            "r-401",
        ))
        .mount(&server)
        .await;
    for args in [
        &["subscriptions", "list"][..],
        &["events"],
        &["subscriptions", "apply", "/dev/null", "--dry-run"],
    ] {
        let run = cli.run(args).await;
        let line = run.expect_code(3).one_line_error();
        assert!(line.starts_with("error: GET /v2/"), "{line}");
        assert!(
            line.contains("401")
                && line.contains("the token is not valid")
                && line.contains("r-401"),
            "{line}"
        );
        assert!(line.contains("TRIPLETEX_CONSUMER_TOKEN"), "a hint: {line}");
        run.never_prints(&[SESSION]);
    }

    // Tokens that create a session: refused on creation, never printed.
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/v2/token/session/:create"))
        .respond_with(api_error(
            401,
            3000,
            "Invalid consumer or employee token",
            "r-create",
        ))
        .mount(&server)
        .await;
    let run = Cli::new(&format!("{}/v2", server.uri()))
        .env("TRIPLETEX_CONSUMER_TOKEN", "consumer-never-printed")
        .env("TRIPLETEX_EMPLOYEE_TOKEN", "employee-never-printed")
        .run(&["subscriptions", "list"])
        .await;
    let line = run.expect_code(3).one_line_error();
    assert!(
        line.contains("Invalid consumer or employee token") && line.contains("r-create"),
        "{line}"
    );
    run.never_prints(&["consumer-never-printed", "employee-never-printed"]);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_one_line() {
    let (server, cli) = tripletex().await;
    Mock::given(method("GET"))
        .respond_with(empty_list().set_delay(std::time::Duration::from_secs(20)))
        .mount(&server)
        .await;
    let run = cli
        .run(&["--timeout", "200ms", "subscriptions", "list"])
        .await;
    let line = run.expect_code(1).one_line_error();
    assert!(line.contains("timed out"), "{line}");
}
