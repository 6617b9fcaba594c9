//! `inbox list|replay`: a receiver's inbox, with rows as its workers leave them.

use tripletex_webhooks_receiver::inbox::Inbox;

use crate::harness::Cli;

fn cli() -> Cli {
    // No server: the inbox is a database (a base URL that nothing listens on).
    Cli::new("http://127.0.0.1:9/v2")
}

/// An inbox file with two dead letters (subscriptions 1 and 2) and one handled event.
async fn inbox() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let inbox = Inbox::open(&url).await.unwrap();
    inbox.close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for (id, subscription, state, error) in [
        (1, 1, "dead", Some("the handler answered 500")),
        (2, 2, "dead", Some("the handler answered 503")),
        (3, 1, "done", None),
    ] {
        sqlx::query(
            "INSERT INTO tripletex_webhook_inbox (id, object_key, version, deleted, order_version,
                idempotency_key, subscription_id, event, path, body, received_ms, state, attempts,
                next_attempt_ms, forced, last_error)
             VALUES ($1, 'product:' || $1, 4, 0, 4, 'key-' || $1, $2, 'product.update', '/hook',
                '{}', 1700000000000, $3, 10, 0, 0, $4)",
        )
        .bind(id)
        .bind(subscription)
        .bind(state)
        .bind(error)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    (dir, url)
}

#[tokio::test]
async fn lists_the_events_and_filters_them() {
    let (_dir, url) = inbox().await;
    let all = cli()
        .run(&["inbox", "list", "--database", &url, "--json"])
        .await;
    let all = all.ok().json();
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert_eq!(all[0]["state"], "dead");
    assert_eq!(all[0]["lastError"], "the handler answered 500");
    assert_eq!(all[2]["object"], "product:3");

    let dead = cli()
        .run(&[
            "inbox",
            "list",
            "--database",
            &url,
            "--state",
            "dead",
            "--subscription",
            "2",
        ])
        .await;
    let table = &dead.ok().stdout;
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("the handler answered 503") && !table.contains("answered 500"),
        "{table}"
    );

    let none = cli()
        .run(&["inbox", "list", "--database", &url, "--from-id", "4"])
        .await;
    assert_eq!(none.ok().stdout.trim(), "no inbox events");
}

#[tokio::test]
async fn replays_dead_letters_by_default_and_any_range_on_request() {
    let (_dir, url) = inbox().await;
    let one = cli()
        .run(&[
            "inbox",
            "replay",
            "--database",
            &url,
            "--subscription",
            "1",
            "--json",
        ])
        .await;
    assert_eq!(
        one.ok().json()["replayed"],
        1,
        "only subscription 1's dead letter"
    );
    let pending = cli()
        .run(&[
            "inbox",
            "list",
            "--database",
            &url,
            "--state",
            "pending",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(pending[0]["id"], 1);
    assert_eq!(pending[0]["attempts"], 0);
    assert_eq!(pending[0]["lastError"], serde_json::Value::Null);

    let handled = cli()
        .run(&["inbox", "replay", "--database", &url, "--state", "done"])
        .await;
    assert_eq!(handled.ok().stdout.trim(), "put back to pending: 1");
    let rest = cli().run(&["inbox", "replay", "--database", &url]).await;
    assert_eq!(
        rest.ok().stdout.trim(),
        "put back to pending: 1",
        "the other dead letter"
    );
}

#[tokio::test]
async fn a_missing_file_or_an_unknown_database_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nothing.db").display());
    let run = cli().run(&["inbox", "list", "--database", &missing]).await;
    let line = run.expect_code(64).one_line_error();
    assert!(line.contains("no SQLite file at"), "{line}");
    assert!(!dir.path().join("nothing.db").exists(), "never created");

    let other = cli()
        .run(&["inbox", "replay", "--database", "mysql://db/app"])
        .await;
    assert!(
        other
            .expect_code(64)
            .one_line_error()
            .contains("expected sqlite://FILE")
    );

    let down = cli()
        .run(&[
            "inbox",
            "list",
            "--database",
            "postgres://nobody@127.0.0.1:9/none",
            "--timeout",
            "1s",
            "--json",
        ])
        .await;
    down.expect_code(1);
    assert!(down.stderr.contains("\"kind\":\"inbox\""), "{down:#?}");
}
