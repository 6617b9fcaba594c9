//! Subscribe to `product.create`, `product.update` and `product.delete`, safely
//! at every start, and print the subscriptions as a table.
//!
//! ```text
//! cargo run -p tripletex-webhooks-server -- --database sqlite::memory: &
//! cargo run -p examples --example subscribe
//! ```
//!
//! Configuration, from the environment:
//!
//! - `TRIPLETEX_BASE_URL` (default `http://127.0.0.1:8080/v2`, the bundled server)
//! - `TRIPLETEX_CONSUMER_TOKEN` (default `local-consumer-token`)
//! - `TRIPLETEX_EMPLOYEE_TOKEN` (default `local-employee-token`)
//! - `WEBHOOK_TARGET_URL` (default `http://127.0.0.1:3000/webhooks/tripletex`)
//! - `WEBHOOK_AUTH_HEADER_NAME` (default `X-Tripletex-Token`) and
//!   `WEBHOOK_AUTH_HEADER_VALUE` (default `dev-token`): the header sent with
//!   every callback
//! - `WEBHOOK_HMAC_SECRET` (default `dev-hmac-secret`, 10 to 100 characters):
//!   sign the callbacks
//!
//! The defaults are the `axum_receiver` example's development secrets, so the
//! two programs work together as they are.
//!
//! Subscriptions to the same target URL that are not in the list are deleted;
//! those of other targets are left alone.

use std::process::ExitCode;
use std::time::Duration;

use tripletex_webhooks_client::reconcile::redact_url;
use tripletex_webhooks_client::types::secrecy::SecretString;
use tripletex_webhooks_client::types::{NewSubscription, Subscription};
use tripletex_webhooks_client::{Client, Error, RetryPolicy};

const EVENTS: [&str; 3] = ["product.create", "product.update", "product.delete"];

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let base_url = env_or("TRIPLETEX_BASE_URL", "http://127.0.0.1:8080/v2");
    match run(&base_url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is_transport() || error.is_timeout() => {
            eprintln!("error: Tripletex is not reachable at {base_url}: {error}");
            eprintln!(
                "hint: start the bundled server with `cargo run -p tripletex-webhooks-server`, or set TRIPLETEX_BASE_URL"
            );
            ExitCode::FAILURE
        }
        Err(error) if error.is_auth() => {
            eprintln!("error: the tokens were refused: {error}");
            eprintln!("hint: set TRIPLETEX_CONSUMER_TOKEN and TRIPLETEX_EMPLOYEE_TOKEN");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base_url: &str) -> Result<(), Error> {
    let client = Client::builder()
        .base_url(base_url)
        .consumer_token(env_or("TRIPLETEX_CONSUMER_TOKEN", "local-consumer-token"))
        .employee_token(env_or("TRIPLETEX_EMPLOYEE_TOKEN", "local-employee-token"))
        .timeout(Duration::from_secs(15))
        .retry_policy(RetryPolicy::default().max_attempts(2))
        .build()?;
    let target = env_or(
        "WEBHOOK_TARGET_URL",
        "http://127.0.0.1:3000/webhooks/tripletex",
    );
    let header = (
        env_or("WEBHOOK_AUTH_HEADER_NAME", "X-Tripletex-Token"),
        SecretString::from(env_or("WEBHOOK_AUTH_HEADER_VALUE", "dev-token")),
    );
    let secret = SecretString::from(env_or("WEBHOOK_HMAC_SECRET", "dev-hmac-secret"));
    let desired = desired(&target, &header, &secret);

    let scope_target = target.clone();
    let reconcile = client
        .subscriptions()
        .reconcile(desired)
        .delete_extra(true)
        .scope(move |subscription| subscription.target_url.as_deref() == Some(&scope_target));
    let report = reconcile.apply().await?;
    println!("Reconciled the subscriptions to {}:", redact_url(&target));
    for line in report.plan.to_string().lines() {
        println!("  {line}");
    }
    println!();

    let all = client.subscriptions().list().sorting("id").all().await?;
    print_table(&all);
    Ok(())
}

fn desired(
    target: &str,
    (header_name, header_value): &(String, SecretString),
    secret: &SecretString,
) -> Vec<NewSubscription> {
    EVENTS
        .iter()
        .filter_map(|event| event.parse().ok())
        .map(|event| {
            NewSubscription::new(event, target)
                .with_fields("id,version,name,number")
                .with_auth_header(header_name.clone(), header_value.clone())
                .with_hmac_secret(secret.clone())
        })
        .collect()
}

fn print_table(subscriptions: &[Subscription]) {
    let rows: Vec<[String; 6]> = subscriptions
        .iter()
        .map(|s| {
            [
                s.id.map_or_else(String::new, |id| id.to_string()),
                s.event
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string),
                s.status
                    .as_ref()
                    .map_or_else(String::new, |st| st.as_str().to_owned()),
                s.version.map_or_else(String::new, |v| v.to_string()),
                s.fields.clone().unwrap_or_default(),
                s.target_url.as_deref().map_or_else(String::new, redact_url),
            ]
        })
        .collect();
    let header = ["ID", "EVENT", "STATUS", "VERSION", "FIELDS", "TARGET"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    if rows.is_empty() {
        println!("(no subscriptions)");
    }
}
