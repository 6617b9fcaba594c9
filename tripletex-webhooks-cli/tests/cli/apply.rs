//! `subscriptions apply`: the plan, `--dry-run` exit codes, a second run
//! that plans nothing, `--prune`.

use crate::harness::Server;

const TOKEN: &str = "auth-value-never-printed";
const SECRET: &str = "hmac-secret-never-printed";

fn desired(target: &str) -> String {
    format!(
        r#"
scope = "{target}"

[[subscription]]
events = ["product.create", "product.update", "product.delete"]
target = "{target}/products"
fields = "id,version,name"
auth_header = "X-Tripletex-Token"
auth_value_env = "HOOK_TOKEN"
hmac_secret_env = "HOOK_SECRET"

[[subscription]]
events = ["order.create"]
target = "{target}/orders"
"#
    )
}

#[tokio::test]
async fn apply_twice_the_second_run_plans_nothing_and_dry_run_exits_2_on_drift() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhooks.toml");
    std::fs::write(&file, desired("https://example.com")).unwrap();
    let file = file.to_str().unwrap();
    let cli = server
        .cli()
        .env("HOOK_TOKEN", TOKEN)
        .env("HOOK_SECRET", SECRET);
    let secrets = [
        TOKEN,
        SECRET,
        "local-employee-token",
        "local-consumer-token",
    ];

    let drift = cli
        .run(&["subscriptions", "apply", file, "--dry-run"])
        .await;
    drift.expect_code(2).never_prints(&secrets);
    let creates = drift
        .stdout
        .lines()
        .filter(|line| line.starts_with("create "))
        .count();
    assert_eq!(creates, 4, "{drift:#?}");
    assert!(
        drift.stdout.contains("dry run: nothing changed"),
        "{drift:#?}"
    );
    let none = server.cli().run(&["--json", "subscriptions", "list"]).await;
    assert_eq!(
        none.ok().json(),
        serde_json::json!([]),
        "the dry run changed nothing"
    );

    let first = cli.run(&["subscriptions", "apply", file]).await;
    first.ok().never_prints(&secrets);
    assert!(
        first
            .stdout
            .contains("applied: 4 created, 0 updated, 0 deleted"),
        "{first:#?}"
    );

    let second = cli.run(&["subscriptions", "apply", file]).await;
    second.ok().never_prints(&secrets);
    assert!(
        second
            .stdout
            .contains("nothing to do: 4 subscriptions up to date"),
        "{second:#?}"
    );
    cli.run(&["subscriptions", "apply", file, "--dry-run"])
        .await
        .ok();
    let plan = cli
        .run(&["--json", "subscriptions", "apply", file, "--dry-run"])
        .await;
    let plan = plan.ok().json();
    assert_eq!(plan["changed"], false);
    assert_eq!(plan["unchanged"].as_array().map(Vec::len), Some(4));

    // Someone disables one and adds another: re-enable, and prune the extra.
    let list = server
        .cli()
        .run(&["--json", "subscriptions", "list"])
        .await
        .json();
    let first_id = list[0]["id"].to_string();
    server
        .cli()
        .run(&["subscriptions", "disable", &first_id])
        .await
        .ok();
    server
        .cli()
        .run(&[
            "subscriptions",
            "create",
            "--event",
            "customer.create",
            "--target",
            "https://example.com/extra",
        ])
        .await
        .ok();
    let outside = server
        .cli()
        .run(&[
            "subscriptions",
            "create",
            "--event",
            "customer.create",
            "--target",
            "https://elsewhere.example/x",
        ])
        .await;
    outside.ok();
    let plan = cli
        .run(&[
            "--json",
            "subscriptions",
            "apply",
            file,
            "--dry-run",
            "--prune",
        ])
        .await;
    plan.expect_code(2);
    let plan = plan.json();
    assert_eq!(plan["update"][0]["action"], "re-enable", "{plan:#}");
    assert_eq!(
        plan["delete"].as_array().map(Vec::len),
        Some(1),
        "only the extra in scope: {plan:#}"
    );
    assert_eq!(plan["delete"][0]["target"], "https://example.com/extra");
    let pruned = cli.run(&["subscriptions", "apply", file, "--prune"]).await;
    pruned.ok();
    assert!(
        pruned.stdout.contains("re-enable") && pruned.stdout.contains("delete"),
        "{pruned:#?}"
    );
    cli.run(&["subscriptions", "apply", file, "--prune", "--dry-run"])
        .await
        .ok();
    let left = server
        .cli()
        .run(&["--json", "subscriptions", "list"])
        .await
        .json();
    assert_eq!(
        left.as_array().map(Vec::len),
        Some(5),
        "4 desired and the one out of scope"
    );
}

#[tokio::test]
async fn a_bad_file_or_a_missing_variable_is_a_usage_error() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhooks.toml");
    std::fs::write(&file, desired("https://example.com")).unwrap();
    let file = file.to_str().unwrap();

    let missing = server
        .cli()
        .env("HOOK_TOKEN", TOKEN)
        .run(&["subscriptions", "apply", file])
        .await;
    let line = missing.expect_code(64).one_line_error();
    assert!(
        line.contains("HOOK_SECRET") && line.contains("not set"),
        "{line}"
    );
    missing.never_prints(&[TOKEN]);

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[subscription]]\nevents = [\"product.create\"]\n").unwrap();
    let run = server
        .cli()
        .run(&["subscriptions", "apply", bad.to_str().unwrap()])
        .await;
    assert!(
        run.expect_code(64).one_line_error().contains("target"),
        "{run:#?}"
    );

    let absent = server
        .cli()
        .run(&["subscriptions", "apply", "/does/not/exist.toml"])
        .await;
    assert!(
        absent
            .expect_code(64)
            .one_line_error()
            .contains("cannot read"),
        "{absent:#?}"
    );
    let none = server.cli().run(&["--json", "subscriptions", "list"]).await;
    assert_eq!(none.ok().json(), serde_json::json!([]));
}
