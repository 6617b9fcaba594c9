//! `subscriptions create | list | show | disable | enable | delete` and `events`.

use crate::harness::Server;

const TOKEN: &str = "header-value-never-printed";
const SECRET: &str = "hmac-secret-never-printed";

#[tokio::test]
async fn create_show_disable_enable_delete() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("hmac");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let cli = server.cli().env("HOOK_TOKEN", TOKEN);
    let secrets = [TOKEN, SECRET];

    let created = cli
        .run(&[
            "--json",
            "subscriptions",
            "create",
            "--event",
            "product.create",
            "--event",
            "product.update",
            "--target",
            "https://user:pw@example.com/hooks?token=q-secret",
            "--fields",
            "id,version",
            "--auth-header",
            "X-Tripletex-Token",
            "--auth-value-env",
            "HOOK_TOKEN",
            "--hmac-secret-file",
            secret_file.to_str().unwrap(),
        ])
        .await;
    created
        .ok()
        .never_prints(&[TOKEN, SECRET, "q-secret", "user:pw"]);
    let created = created.json();
    assert_eq!(created.as_array().map(Vec::len), Some(2), "{created:#}");
    assert_eq!(created[0]["targetUrl"], "https://***@example.com/hooks?***");
    assert_eq!(created[0]["authHeaderName"], "X-Tripletex-Token");
    let id = created[0]["id"].to_string();
    let other = created[1]["id"].to_string();

    let shown = cli.run(&["subscriptions", "show", &id]).await;
    shown.ok().never_prints(&secrets);
    assert!(
        shown.stdout.contains("product.create") && shown.stdout.contains("ACTIVE"),
        "{shown:#?}"
    );

    let disabled = cli
        .run(&["--json", "subscriptions", "disable", &id, &other])
        .await;
    let disabled = disabled.ok().json();
    assert_eq!(disabled[0]["status"], "DISABLED");
    assert_eq!(disabled[1]["status"], "DISABLED");
    let shown = cli
        .run(&["--json", "subscriptions", "show", &id])
        .await
        .json();
    assert_eq!(shown["status"], "DISABLED");

    let enabled = cli.run(&["subscriptions", "enable", &id]).await;
    assert!(enabled.ok().stdout.contains("ACTIVE"), "{enabled:#?}");
    let list = cli.run(&["subscriptions", "list"]).await;
    list.ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows: {list:#?}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS"),
        "{list:#?}"
    );

    let deleted = cli.run(&["subscriptions", "delete", &id, &other]).await;
    assert!(
        deleted
            .ok()
            .stdout
            .contains(&format!("deleted subscription {id}")),
        "{deleted:#?}"
    );
    let list = cli.run(&["--json", "subscriptions", "list"]).await;
    assert_eq!(list.ok().json(), serde_json::json!([]));

    let gone = cli.run(&["subscriptions", "show", &id]).await;
    let line = gone.expect_code(1).one_line_error();
    assert!(
        line.starts_with("error: GET /v2/event/subscription/") && line.contains("404"),
        "{line}"
    );
    assert!(line.contains("request id"), "{line}");
}

#[tokio::test]
async fn create_refuses_a_missing_secret_variable_and_sends_nothing() {
    let server = Server::start().await;
    let run = server
        .cli()
        .run(&[
            "subscriptions",
            "create",
            "--event",
            "product.create",
            "--target",
            "https://example.com/h",
            "--hmac-secret-env",
            "NOT_SET_ANYWHERE",
        ])
        .await;
    assert!(
        run.expect_code(64)
            .one_line_error()
            .contains("NOT_SET_ANYWHERE"),
        "{run:#?}"
    );
    let bad_event = server
        .cli()
        .run(&[
            "subscriptions",
            "create",
            "--event",
            "no such event",
            "--target",
            "https://example.com/h",
        ])
        .await;
    bad_event.expect_code(64).one_line_error();
    let list = server.cli().run(&["--json", "subscriptions", "list"]).await;
    assert_eq!(list.ok().json(), serde_json::json!([]));
}

#[tokio::test]
async fn events_lists_the_catalogue_and_one_event() {
    let server = Server::start().await;
    let all = server.cli().run(&["events"]).await;
    assert!(
        all.ok()
            .stdout
            .lines()
            .any(|l| l.starts_with("product.create") && l.contains("Product")),
        "{all:#?}"
    );
    let json = server.cli().run(&["--json", "events"]).await.json();
    assert_eq!(
        json["product.update"]["payloadModel"], "Product",
        "{json:#}"
    );
    let one = server.cli().run(&["events", "product.update"]).await;
    assert!(
        one.ok().stdout.contains("payload model: Product"),
        "{one:#?}"
    );
    let json = server
        .cli()
        .run(&["--json", "events", "product.update"])
        .await
        .json();
    assert!(
        json["examples"].as_array().is_some_and(|e| !e.is_empty()),
        "{json:#}"
    );
}
