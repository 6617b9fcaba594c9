//! `redeliver ID… | --failed [--since DURATION]`.

use serde_json::json;
use tripletex_webhooks_client::emulator::DeliveryFilter;
use tripletex_webhooks_client::types::emulator::DeliveryStatus;

use crate::cli::RedeliverArgs;
use crate::emulator::Emulator;
use crate::error::{CliError, exit};
use crate::output::Output;
use crate::progress::{self, Progress};

/// The page size when collecting failed deliveries.
const PAGE: i64 = 500;

/// Sends the deliveries again.
pub(crate) async fn run(
    emulator: &Emulator,
    args: &RedeliverArgs,
    output: Output,
) -> Result<u8, CliError> {
    let ids = if args.failed {
        failed(emulator, args.since, output).await?
    } else {
        args.ids.clone()
    };
    let progress = Progress::bar(
        progress::enabled(output.is_json()) && ids.len() > 1,
        ids.len(),
        "redelivering",
    );
    for id in &ids {
        emulator.redeliver(*id).await?;
        progress.step();
    }
    drop(progress);
    if output.is_json() {
        output.json(&json!({ "redelivered": ids }))?;
    } else if ids.is_empty() {
        output.line("no failed deliveries to send again")?;
    } else {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        output.line(&format!("redelivering {}: {}", ids.len(), list.join(", ")))?;
    }
    Ok(exit::OK)
}

/// The ids of every failed delivery, created within `since` of the server's now.
async fn failed(
    emulator: &Emulator,
    since: Option<std::time::Duration>,
    output: Output,
) -> Result<Vec<i64>, CliError> {
    let _progress = Progress::spinner(
        progress::enabled(output.is_json()),
        "finding failed deliveries",
    );
    let created_from_ms = match since {
        Some(since) => {
            let now = emulator.clock().await?.now_ms;
            let since = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
            Some(now.saturating_sub(since))
        }
        None => None,
    };
    let filter = DeliveryFilter::new()
        .status(DeliveryStatus::Failed)
        .created_between(created_from_ms, None)
        .oldest_first();
    let mut ids = Vec::new();
    let mut from = 0;
    loop {
        let page = emulator
            .deliveries(&filter.clone().page(from, PAGE))
            .await?;
        let received = i64::try_from(page.values.len()).unwrap_or(i64::MAX);
        ids.extend(page.values.iter().map(|delivery| delivery.id));
        from = from.saturating_add(received);
        if received < PAGE {
            break;
        }
    }
    Ok(ids)
}
