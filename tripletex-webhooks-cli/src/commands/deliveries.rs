//! `deliveries [--subscription ID] [--status S] [--event E] [--limit N]`.

use tripletex_webhooks_client::types::EventType;

use super::format_ms;
use crate::cli::DeliveriesArgs;
use crate::emulator::{Delivery, DeliveryFilter, Emulator};
use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};

/// Prints the newest messages of the delivery log.
pub(crate) async fn run(
    emulator: &Emulator,
    args: &DeliveriesArgs,
    output: Output,
) -> Result<u8, CliError> {
    let event = args
        .event
        .as_deref()
        .map(|raw| {
            raw.parse::<EventType>()
                .map(|event| event.to_string())
                .map_err(|error| CliError::Usage(format!("--event {raw:?}: {error}")))
        })
        .transpose()?;
    let filter = DeliveryFilter {
        subscription_id: args.subscription,
        status: args.status.map(crate::cli::DeliveryStatus::as_str),
        event,
        created_from_ms: None,
    };
    let page = emulator
        .deliveries(&filter, 0, u64::from(args.limit))
        .await?;
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
pub(crate) fn row(delivery: &Delivery) -> Vec<Cell> {
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

/// The tone of a message status.
pub(crate) fn status_cell(status: &str) -> Cell {
    let tone = match status {
        "delivered" => Tone::Good,
        "failed" => Tone::Bad,
        "pending" => Tone::Warn,
        _ => Tone::Dim,
    };
    Cell::toned(status, tone)
}

/// The last attempt's status code or error, or why there was none.
fn last_outcome(delivery: &Delivery) -> String {
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
