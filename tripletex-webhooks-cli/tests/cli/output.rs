//! What every command shares: `--json`, colour, exit codes, help, completions.

use crate::harness::{Cli, Server};

#[tokio::test]
async fn json_parses_for_every_command() {
    let server = Server::start().await;
    let cli = server.cli();
    let refusing = test_support::net::RefusingPort::bind();
    let target = format!("http://{}/h", refusing.addr());
    let runs = [
        &["--json", "events"][..],
        &[
            "--json",
            "subscriptions",
            "create",
            "--event",
            "product.create",
            "--target",
            &target,
        ],
        &["--json", "subscriptions", "list"],
        &["--json", "subscriptions", "show", "1"],
        &["--json", "subscriptions", "disable", "1"],
        &["--json", "subscriptions", "enable", "1"],
        &["--json", "trigger", "product.create"],
        &["--json", "deliveries"],
        &["--json", "redeliver", "--failed"],
        &["--json", "clock"],
        &["--json", "clock", "advance", "1m"],
        &["--json", "subscriptions", "delete", "1"],
    ];
    for args in runs {
        let run = cli.run(args).await;
        run.ok().json();
        assert!(run.stderr.is_empty(), "{run:#?}");
    }
}

#[tokio::test]
async fn colour_only_when_asked_and_never_with_no_color() {
    let server = Server::start().await;
    server
        .cli()
        .run(&[
            "subscriptions",
            "create",
            "--event",
            "product.create",
            "--target",
            "https://example.com/h",
        ])
        .await
        .ok();
    let escape = '\u{1b}';
    let piped = server.cli().run(&["subscriptions", "list"]).await;
    assert!(
        !piped.ok().stdout.contains(escape),
        "not a terminal: {piped:#?}"
    );
    let forced = server
        .cli()
        .run(&["--color", "always", "subscriptions", "list"])
        .await;
    assert!(forced.ok().stdout.contains(escape), "{forced:#?}");
    let no_color = server.cli().env("NO_COLOR", "1");
    for args in [
        &["--color", "always", "subscriptions", "list"][..],
        &["--color", "always", "events"],
        &["--color", "always", "deliveries"],
        &["--color", "always", "subscriptions", "show", "1"],
    ] {
        let run = no_color.run(args).await;
        assert!(!run.ok().all().contains(escape), "NO_COLOR: {run:#?}");
    }
}

#[tokio::test]
async fn help_has_examples_and_completions_are_generated() {
    let cli = Cli::new("local");
    for args in [
        &["--help"][..],
        &["events", "--help"],
        &["subscriptions", "apply", "--help"],
        &["subscriptions", "create", "--help"],
        &["trigger", "--help"],
        &["deliveries", "--help"],
        &["redeliver", "--help"],
        &["clock", "--help"],
        &["verify", "--help"],
        &["completions", "--help"],
    ] {
        let run = cli.run(args).await;
        assert!(run.ok().stdout.contains("Examples:"), "{run:#?}");
    }
    let top = cli.run(&["--help"]).await;
    assert!(
        top.stdout.contains("Exit codes:") && top.stdout.contains("TRIPLETEX_CONSUMER_TOKEN"),
        "{top:#?}"
    );
    let apply = cli.run(&["subscriptions", "apply", "--help"]).await;
    assert!(
        apply.stdout.contains("[[subscription]]") && apply.stdout.contains("hmac_secret_env"),
        "{apply:#?}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let run = cli.run(&["completions", shell]).await;
        assert!(
            run.ok().stdout.contains("tripletex-webhooks") && run.stdout.contains("subscriptions"),
            "{shell}"
        );
    }
    let usage = cli.run(&["completions", "tcsh"]).await;
    usage.expect_code(64);
    let version = cli.run(&["--version"]).await;
    assert!(
        version.ok().stdout.starts_with("tripletex-webhooks "),
        "{version:#?}"
    );
}

#[tokio::test]
async fn no_credentials_for_a_remote_host_is_one_line_and_exit_3() {
    let cli = Cli::new("https://example.invalid/v2");
    let run = cli.run(&["subscriptions", "list"]).await;
    let line = run.expect_code(3).one_line_error();
    assert!(
        line.contains("no credentials") && line.contains("TRIPLETEX_SESSION_TOKEN"),
        "{line}"
    );
    let half = cli
        .env("TRIPLETEX_CONSUMER_TOKEN", "consumer-never-printed")
        .run(&["events"])
        .await;
    assert!(
        half.expect_code(64)
            .one_line_error()
            .contains("TRIPLETEX_EMPLOYEE_TOKEN"),
        "{half:#?}"
    );
    half.never_prints(&["consumer-never-printed"]);
    let bad_url = Cli::new("tripletex.no").run(&["events"]).await;
    bad_url.expect_code(64).one_line_error();
}

#[tokio::test]
async fn on_a_terminal_a_slow_command_shows_progress_and_colour_unless_no_color_or_json() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let tripletex = MockServer::start().await;
    let page = serde_json::json!({"fullResultSize": 1, "from": 0, "count": 1, "values": [
        {"id": 4, "version": 0, "event": "product.create", "targetUrl": "https://example.com/h", "status": "ACTIVE"},
    ]});
    Mock::given(method("GET"))
        .and(path("/v2/event/subscription"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page)
                .set_delay(std::time::Duration::from_secs(1)),
        )
        .mount(&tripletex)
        .await;
    let cli = Cli::new(&format!("{}/v2", tripletex.uri()))
        .env("TRIPLETEX_SESSION_TOKEN", "session-never-printed");
    let Some(run) = cli.run_on_terminal(&["subscriptions", "list"]).await else {
        return;
    };
    run.ok().never_prints(&["session-never-printed"]);
    assert!(
        run.stdout.contains("listing"),
        "a spinner on the terminal: {run:#?}"
    );
    assert!(
        run.stdout.contains("\u{1b}[1mID"),
        "a bold header: {run:#?}"
    );
    assert!(
        run.stdout.contains("\u{1b}[32mACTIVE"),
        "a green status: {run:#?}"
    );

    let plain = cli
        .clone()
        .env("NO_COLOR", "1")
        .run_on_terminal(&["subscriptions", "list"])
        .await
        .unwrap();
    assert!(
        !plain.ok().stdout.contains("\u{1b}[1mID") && !plain.stdout.contains("\u{1b}[32m"),
        "{plain:#?}"
    );
    let json = cli
        .run_on_terminal(&["--json", "subscriptions", "list"])
        .await
        .unwrap();
    assert!(
        !json.ok().stdout.contains('\u{1b}') && !json.stdout.contains("listing"),
        "{json:#?}"
    );
}
