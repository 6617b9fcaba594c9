//! `trigger`, `deliveries`, `redeliver`, `clock`: against the bundled server,
//! and a clear error against Tripletex itself.

use serde_json::Value;
use test_support::eventually;
use test_support::net::RefusingPort;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Cli, Server};

/// A receiver that answers every callback 200.
async fn receiver() -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    receiver
}

/// Subscribes `event` to `target` and returns the subscription id.
async fn subscribe(cli: &Cli, event: &str, target: &str) -> i64 {
    let created = cli
        .run(&[
            "--json",
            "subscriptions",
            "create",
            "--event",
            event,
            "--target",
            target,
        ])
        .await;
    created.ok().json()[0]["id"].as_i64().unwrap()
}

/// The delivery log, once `done` holds for it.
async fn deliveries_when(
    cli: &Cli,
    args: &[&str],
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut all = vec!["--json", "deliveries"];
    all.extend(args);
    eventually(what, || async {
        let run = cli.run(&all).await;
        let log = run.ok().json().as_array().cloned().unwrap_or_default();
        done(&log).then_some(log)
    })
    .await
}

#[tokio::test]
async fn trigger_then_deliveries_show_it() {
    let server = Server::start().await;
    let receiver = receiver().await;
    let cli = server.cli();
    let target = format!("{}/hooks", receiver.uri());
    let subscription = subscribe(&cli, "product.create", &target).await;
    subscribe(&cli, "product.update", &target).await;

    let emitted = cli
        .run(&[
            "trigger",
            "product.create",
            "--id",
            "7",
            "--value",
            r#"{"id":7,"version":0,"name":"Espresso"}"#,
        ])
        .await;
    assert_eq!(
        emitted.ok().stdout.trim(),
        "emitted product.create for object 7: 1 delivery queued"
    );
    let dir = tempfile::tempdir().unwrap();
    let value = dir.path().join("product.json");
    std::fs::write(&value, r#"{"id":7,"version":1,"name":"Doppio"}"#).unwrap();
    let at_file = format!("@{}", value.display());
    let emitted = cli
        .run(&[
            "--json",
            "trigger",
            "product.update",
            "--id",
            "7",
            "--value",
            &at_file,
        ])
        .await;
    assert_eq!(emitted.ok().json()["deliveries"], 1);

    let log = deliveries_when(&cli, &[], "both delivered", |log| {
        log.len() == 2 && log.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(log[0]["event"], "product.update", "newest first: {log:#?}");
    let only = deliveries_when(
        &cli,
        &["--subscription", &subscription.to_string()],
        "one",
        |log| log.len() == 1,
    )
    .await;
    assert_eq!(only[0]["objectId"], 7);
    let by_event = deliveries_when(
        &cli,
        &["--event", "product.create", "--status", "delivered"],
        "one",
        |l| l.len() == 1,
    )
    .await;
    assert_eq!(by_event[0]["subscriptionId"], subscription);

    let table = cli.run(&["deliveries"]).await;
    table.ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("SUBSCRIPTION"),
        "{table:#?}"
    );
    assert!(
        lines[1].contains("product.update")
            && lines[1].contains("delivered")
            && lines[1].contains("200"),
        "{table:#?}"
    );
    let bodies: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("Espresso")), "{bodies:?}");

    let bad = cli
        .run(&["trigger", "product.create", "--value", "{not json"])
        .await;
    assert!(
        bad.expect_code(64).one_line_error().contains("not JSON"),
        "{bad:#?}"
    );
    let refused = cli
        .run(&["trigger", "product.create", "--value", "[1]"])
        .await;
    let line = refused.expect_code(1).one_line_error();
    assert!(
        line.contains("POST /_emulator/events")
            && line.contains("422")
            && line.contains("request id"),
        "{line}"
    );
}

#[tokio::test]
async fn redeliver_sends_failed_deliveries_again() {
    // Two attempts in all, then the message fails.
    let server = Server::start_with(&["--retry-schedule", "1ms"]).await;
    let refusing = RefusingPort::bind();
    let cli = server.cli();
    subscribe(
        &cli,
        "product.create",
        &format!("http://{}/hooks", refusing.addr()),
    )
    .await;
    cli.run(&["trigger", "product.create", "--id", "1"])
        .await
        .ok();
    cli.run(&["trigger", "product.create", "--id", "2"])
        .await
        .ok();
    let failed = deliveries_when(&cli, &["--status", "failed"], "both failed", |log| {
        log.len() == 2
    })
    .await;
    let attempts = |log: &[Value], id: &Value| {
        log.iter()
            .find(|d| d["id"] == *id)
            .and_then(|d| d["attempts"].as_i64())
            .unwrap_or_default()
    };
    let (first, second) = (failed[1]["id"].clone(), failed[0]["id"].clone());
    assert_eq!(attempts(&failed, &first), 2);

    let one = cli.run(&["redeliver", &first.to_string()]).await;
    assert_eq!(one.ok().stdout.trim(), format!("redelivering 1: {first}"));
    deliveries_when(
        &cli,
        &["--status", "failed"],
        "the redelivery attempted and failed",
        |log| attempts(log, &first) >= 3,
    )
    .await;

    let recent = cli
        .run(&["--json", "redeliver", "--failed", "--since", "1h"])
        .await;
    assert_eq!(
        recent.ok().json()["redelivered"],
        serde_json::json!([first, second])
    );
    deliveries_when(
        &cli,
        &["--status", "failed"],
        "both attempted again",
        |log| log.len() == 2 && attempts(log, &second) >= 3 && attempts(log, &first) >= 4,
    )
    .await;
    cli.run(&["clock", "advance", "2h"]).await.ok();
    let none = cli
        .run(&["--json", "redeliver", "--failed", "--since", "1h"])
        .await;
    assert_eq!(none.ok().json()["redelivered"], serde_json::json!([]));

    let unknown = cli.run(&["redeliver", "999999"]).await;
    let line = unknown.expect_code(1).one_line_error();
    assert!(
        line.contains("No delivery 999999") && line.contains("404"),
        "{line}"
    );
    let usage = cli.run(&["redeliver"]).await;
    usage.expect_code(64);
}

#[tokio::test]
async fn clock_reads_and_advances() {
    let server = Server::start().await;
    let cli = server.cli();
    let before = cli.run(&["--json", "clock"]).await.json();
    assert_eq!(before["offsetMs"], 0, "{before:#}");
    let human = cli.run(&["clock"]).await;
    assert!(human.ok().stdout.starts_with("server time "), "{human:#?}");
    let after = cli.run(&["clock", "advance", "1h"]).await;
    assert!(
        after.ok().stdout.contains("+1h from the real time"),
        "{after:#?}"
    );
    let after = cli.run(&["--json", "clock", "advance", "90s"]).await.json();
    assert_eq!(after["offsetMs"], 3_690_000);
    assert!(after["nowMs"].as_i64() >= before["nowMs"].as_i64().map(|ms| ms + 3_690_000));
    cli.run(&["clock", "advance", "soon"]).await.expect_code(64);
}

#[tokio::test]
async fn emulator_commands_refuse_tripletex_and_servers_without_the_emulator() {
    for (base, host) in [
        ("prod", "tripletex.no"),
        ("test", "api-test.tripletex.tech"),
    ] {
        let cli = Cli::new(base).env("TRIPLETEX_SESSION_TOKEN", "session-never-printed");
        for args in [
            &["clock"][..],
            &["trigger", "product.create"],
            &["deliveries"],
            &["redeliver", "--failed"],
        ] {
            let run = cli.run(args).await;
            let line = run.expect_code(5).one_line_error();
            assert!(
                line.contains(host) && line.contains("bundled server"),
                "{line}"
            );
            run.never_prints(&["session-never-printed"]);
        }
    }
    let server = Server::start_with(&["--no-emulator-api"]).await;
    let run = server.cli().run(&["clock"]).await;
    let line = run.expect_code(5).one_line_error();
    assert!(line.contains("has no emulator API"), "{line}");
    let json = server.cli().run(&["--json", "deliveries"]).await;
    json.expect_code(5);
    let error: Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "no_emulator");
    assert_eq!(error["error"]["exitCode"], 5);
}

#[tokio::test]
async fn deliveries_follow_prints_a_delivery_made_while_it_runs() {
    let server = Server::start().await;
    let receiver = receiver().await;
    let cli = server.cli();
    let target = format!("{}/hooks", receiver.uri());
    let creates = subscribe(&cli, "product.create", &target).await;
    subscribe(&cli, "product.update", &target).await;

    let follow = cli.spawn(&[
        "deliveries",
        "--follow",
        "--subscription",
        &creates.to_string(),
    ]);
    let json = cli.spawn(&["--json", "deliveries", "--follow"]);
    for process in [&follow, &json] {
        process
            .wait_for_line("that it follows", |line| {
                line.contains("following the delivery log").then_some(())
            })
            .await;
    }
    let attempt_of = |event: &'static str| {
        move |line: &str| {
            let value: Value = serde_json::from_str(line).ok()?;
            (value["event"] == "attempt" && value["data"]["delivery"]["event"] == event)
                .then_some(value)
        }
    };

    // Another subscription's delivery: in the unfiltered tail only.
    cli.run(&["trigger", "product.update", "--id", "8"])
        .await
        .ok();
    let update = json
        .wait_for_line("the update's attempt", attempt_of("product.update"))
        .await;
    assert_eq!(update["data"]["attempt"]["statusCode"], 200, "{update:#}");
    assert!(update["id"].is_u64(), "{update:#}");

    cli.run(&["trigger", "product.create", "--id", "7"])
        .await
        .ok();
    let line = follow
        .wait_for_line("the create's attempt", |line| {
            line.contains("product.create").then(|| line.to_owned())
        })
        .await;
    for part in [
        "product.create  object 7".to_owned(),
        format!("subscription {creates}"),
        "attempt 1  200 (".to_owned(),
    ] {
        assert!(line.contains(&part), "{part:?} in {line:?}");
    }
    assert!(line.ends_with("  delivered"), "{line:?}");
    assert!(
        !follow.output().contains("product.update"),
        "filtered: {}",
        follow.output()
    );
    json.wait_for_line("the create's attempt", attempt_of("product.create"))
        .await;

    // A status change of the followed subscription.
    cli.run(&["subscriptions", "disable", &creates.to_string()])
        .await
        .ok();
    let change = follow
        .wait_for_line("the status change", |line| {
            line.starts_with(&format!("subscription {creates} "))
                .then(|| line.to_owned())
        })
        .await;
    assert_eq!(
        change,
        format!("subscription {creates} product.create is now DISABLED (was ACTIVE)")
    );
    assert!(!follow.output().contains('\u{1b}'), "no colour in a pipe");

    // The server goes away: one line, not a hang.
    drop(server);
    let end = follow
        .wait_for_line("the end of the stream", |line| {
            line.starts_with("error: ").then(|| line.to_owned())
        })
        .await;
    assert!(end.contains("stream"), "{end}");
}
