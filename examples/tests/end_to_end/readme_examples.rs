//! The README's Quickstart, with the programs run as a newcomer runs them:
//! `cargo run -p examples --example quickstart` exits 0 having seen every
//! change; and the server binary, then `cargo run -p examples --example
//! axum_receiver`, then `cargo run -p examples --example subscribe` with the
//! receiver's header and secret: a product created through the API is then
//! printed by the receiver, once per change.
//!
//! Ports: the server announces the ephemeral port it bound; the receiver
//! example listens where `RECEIVER_LISTEN` says, so the test picks a free
//! loopback port for it.

use serde_json::json;
use tokio::process::Command;

use crate::WITHIN;
use crate::tripletex::{Backend, Tripletex};
use test_support::binary::example_binary;
use test_support::process::{Process, without_developer_settings};

#[tokio::test]
async fn the_quickstart_sees_every_change_and_exits_zero() {
    let mut quickstart = Command::new(example_binary("quickstart"));
    quickstart.kill_on_drop(true);
    without_developer_settings(&mut quickstart);
    let output = tokio::time::timeout(WITHIN + WITHIN, quickstart.output())
        .await
        .expect("the quickstart finishes")
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{printed}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "  handled product.create  id 1, version 0, name \"Espresso\"",
        "  handled product.update  id 1, version 2, name \"Espresso 500 g\"",
        "  handled product.delete  id 1 (a delete carries only the id)",
        "All arrived: the creation, the last update (version 2) and the deletion of product 1.",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line:?} in:\n{printed}"
        );
    }
}

#[tokio::test]
async fn subscribe_and_axum_receiver_work_together() {
    let t = Tripletex::start(Backend::Binary).await;
    // The receiver binds port 0 itself and prints the address it got.
    let mut receiver = Command::new(example_binary("axum_receiver"));
    receiver
        .env("RECEIVER_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    let receiver = Process::spawn("the axum_receiver example", receiver);
    let listen = receiver
        .wait_for_line("the address it listens on", |line| {
            let url = line.strip_prefix("receiving Tripletex webhooks on http://")?;
            let address = &url[..url.find('/')?];
            address.parse::<std::net::SocketAddr>().ok()
        })
        .await;
    assert_ne!(listen.port(), 0, "the bound port, not the one asked for");

    // The same header and secret as the receiver's development defaults.
    let mut subscribe = Command::new(example_binary("subscribe"));
    subscribe
        .env("TRIPLETEX_BASE_URL", t.base_url())
        .env(
            "WEBHOOK_TARGET_URL",
            format!("http://{listen}/webhooks/tripletex"),
        )
        .env("WEBHOOK_AUTH_HEADER_NAME", "X-Tripletex-Token")
        .env("WEBHOOK_AUTH_HEADER_VALUE", "dev-token")
        .env("WEBHOOK_HMAC_SECRET", "dev-hmac-secret")
        .kill_on_drop(true);
    without_developer_settings(&mut subscribe);
    let output = tokio::time::timeout(WITHIN, subscribe.output())
        .await
        .expect("the subscribe example finishes")
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "subscribe failed: {}\n{printed}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for event in ["product.create", "product.update", "product.delete"] {
        assert!(printed.contains(event), "{printed}");
    }

    let product = t
        .create("product", json!({"name": "Espresso", "number": "E1"}))
        .await;
    let id = product["id"].as_i64().unwrap();
    receiver
        .wait_for_line("the creation", |line| {
            line.starts_with(&format!("product {id} created: \"Espresso\""))
                .then_some(())
        })
        .await;
    t.update("product", id, json!({"name": "Doppio"})).await;
    receiver
        .wait_for_line("the update", |line| {
            line.starts_with(&format!("product {id} updated: \"Doppio\""))
                .then_some(())
        })
        .await;
    t.delete("product", id).await;
    receiver
        .wait_for_line("the deletion", |line| {
            (line == format!("product {id} deleted")).then_some(())
        })
        .await;

    // Every callback was accepted at its first attempt.
    let log = t
        .wait_for_deliveries("three deliveries", None, |log| {
            log.len() == 3 && log.iter().all(|m| m["status"] == "delivered")
        })
        .await;
    assert!(
        log.iter().all(|m| m["attempts"] == 1),
        "{log:#?}\n{}",
        receiver.output()
    );
}
