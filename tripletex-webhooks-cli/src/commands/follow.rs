//! `deliveries --follow`: a live tail of the delivery log on the server's
//! stream, one line per finished attempt (like `stripe listen`), and one per
//! subscription status change.

use futures::StreamExt as _;
use serde_json::{Value, json};
use tripletex_webhooks_client::emulator::{DeliveryFilter, StreamItem};
use tripletex_webhooks_client::types::emulator::{AttemptEvent, StreamEvent, SubscriptionChange};

use super::deliveries::status_cell;
use super::format_ms;
use super::subscriptions::status_tone;
use crate::emulator::Emulator;
use crate::error::CliError;
use crate::output::{Output, Tone};

/// Prints the events of `filter` until the stream ends (the server stops)
/// or the process is interrupted.
pub(crate) async fn run(
    emulator: &Emulator,
    filter: &DeliveryFilter,
    output: Output,
) -> Result<u8, CliError> {
    let mut stream = emulator.stream().await?;
    // On stderr: stdout carries only the events.
    crate::stderr("following the delivery log (Ctrl-C to stop)");
    while let Some(item) = stream.next().await {
        let item = item.map_err(|error| emulator.error(error))?;
        if let Some(line) = line(&item, filter, output) {
            output.line(&line)?;
        }
    }
    Err(CliError::StreamEnded)
}

/// The line of one event, unless the filter leaves it out.
fn line(item: &StreamItem, filter: &DeliveryFilter, output: Output) -> Option<String> {
    let shown = match &item.event {
        StreamEvent::Attempt(attempt) => {
            filter.concerns(&attempt.delivery)
                && filter
                    .status
                    .as_ref()
                    .is_none_or(|status| *status == attempt.delivery.status)
        }
        StreamEvent::Subscription(change) => {
            filter.status.is_none()
                && filter.event.is_none()
                && filter
                    .subscription_id
                    .is_none_or(|id| change.subscription.id == Some(id))
        }
        StreamEvent::Lagged(_) => true,
        StreamEvent::Unknown { .. } => false,
    };
    if !shown {
        return None;
    }
    if output.is_json() {
        let data = item
            .event
            .data()
            .ok()
            .and_then(|data| serde_json::from_str::<Value>(&data).ok())
            .unwrap_or(Value::Null);
        let value = json!({"event": item.event.name(), "id": item.id, "data": data});
        return Some(value.to_string());
    }
    Some(match &item.event {
        StreamEvent::Attempt(attempt) => attempt_line(attempt, output),
        StreamEvent::Subscription(change) => subscription_line(change, output),
        StreamEvent::Lagged(lagged) => output.paint(
            &format!(
                "missed {} events (the stream lagged): `deliveries` lists the log",
                lagged
                    .skipped
                    .map_or_else(|| "some".to_owned(), |n| n.to_string())
            ),
            Tone::Warn,
        ),
        StreamEvent::Unknown { .. } => return None,
    })
}

/// `<time>  <event>  object <id>  subscription <id>  delivery <id>  attempt <n>  <outcome> (<ms> ms)  <status>`.
fn attempt_line(event: &AttemptEvent, output: Output) -> String {
    let delivery = &event.delivery;
    let attempt = &event.attempt;
    let outcome = match (attempt.status_code, &attempt.error) {
        (Some(code), _) => {
            let tone = if (200..300).contains(&code) {
                Tone::Good
            } else {
                Tone::Bad
            };
            output.paint(&code.to_string(), tone)
        }
        (None, Some(error)) => output.paint(error, Tone::Bad),
        (None, None) => "-".to_owned(),
    };
    let status = status_cell(&delivery.status);
    format!(
        "{}  {}  object {}  subscription {}  delivery {}  attempt {}  {outcome} ({} ms)  {}",
        format_ms(attempt.attempted_at_ms),
        delivery.event,
        delivery.object_id,
        delivery.subscription_id,
        delivery.id,
        attempt.number,
        attempt.duration_ms,
        status.render(output),
    )
}

/// `subscription <id> <event> is now <STATUS> (was <STATUS>)`.
fn subscription_line(change: &SubscriptionChange, output: Output) -> String {
    let subscription = &change.subscription;
    let status = subscription.status.as_ref().map_or_else(
        || "?".to_owned(),
        |status| output.paint(&status.to_string(), status_tone(status)),
    );
    format!(
        "subscription {} {} is now {status} (was {})",
        subscription.id.unwrap_or_default(),
        subscription
            .event
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        change.previous_status
    )
}
