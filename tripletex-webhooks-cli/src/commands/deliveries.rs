//! `deliveries [--subscription ID] [--status S] [--event E] [--limit N] [--follow]`.

use tripletex_webhooks_client::emulator::DeliveryFilter;
use tripletex_webhooks_client::types::EventType;
use tripletex_webhooks_client::types::emulator::{DeliveryRecord, DeliveryStatus};

use super::{follow, format_ms};
use crate::cli::DeliveriesArgs;
use crate::emulator::Emulator;
use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};

/// Prints the newest messages of the delivery log, or follows it.
pub(crate) async fn run(
    emulator: &Emulator,
    args: &DeliveriesArgs,
    output: Output,
) -> Result<u8, CliError> {
    let mut filter = DeliveryFilter::new();
    if let Some(raw) = args.event.as_deref() {
        let event = raw
            .parse::<EventType>()
            .map_err(|error| CliError::Usage(format!("--event {raw:?}: {error}")))?;
        filter = filter.event(event);
    }
    if let Some(id) = args.subscription {
        filter = filter.subscription(id);
    }
    if let Some(status) = args.status {
        filter = filter.status(status.into());
    }
    if args.follow {
        return follow::run(emulator, &filter, output).await;
    }
    let filter = filter.page(0, i64::from(args.limit));
    let page = emulator.deliveries(&filter).await?;
    if output.is_json() {
        output.json(&page.values)?;
        return Ok(exit::OK);
    }
    if page.values.is_empty() {
        output.line("no deliveries")?;
        return Ok(exit::OK);
    }
    let mut table = Table::new([
        "ID",
        "SUBSCRIPTION",
        "EVENT",
        "OBJECT",
        "STATUS",
        "ATTEMPTS",
        "CREATED",
        "LAST",
    ]);
    for delivery in &page.values {
        table.row(row(delivery));
    }
    output.table(&table)?;
    Ok(exit::OK)
}

/// The cells of one message.
fn row(delivery: &DeliveryRecord) -> Vec<Cell> {
    vec![
        delivery.id.to_string().into(),
        delivery.subscription_id.to_string().into(),
        delivery.event.clone().into(),
        delivery.object_id.to_string().into(),
        status_cell(&delivery.status),
        delivery.attempts.to_string().into(),
        format_ms(delivery.created_at_ms).into(),
        last_outcome(delivery).into(),
    ]
}

/// A message status, toned.
pub(crate) fn status_cell(status: &DeliveryStatus) -> Cell {
    let tone = match status {
        DeliveryStatus::Delivered => Tone::Good,
        DeliveryStatus::Failed => Tone::Bad,
        DeliveryStatus::Pending => Tone::Warn,
        DeliveryStatus::Superseded | DeliveryStatus::Unknown(_) => Tone::Dim,
    };
    Cell::toned(status.to_string(), tone)
}

/// The last attempt's status code or error, or why there was none.
fn last_outcome(delivery: &DeliveryRecord) -> String {
    match delivery.attempt_log.last() {
        Some(attempt) => match (attempt.status_code, &attempt.error) {
            (Some(code), _) => code.to_string(),
            (None, Some(error)) => error.clone(),
            (None, None) => "-".to_owned(),
        },
        None => delivery
            .last_error
            .clone()
            .unwrap_or_else(|| "-".to_owned()),
    }
}
