//! `inbox list|replay --database URL [filters]`: a receiver's durable inbox.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tripletex_webhooks_receiver::inbox::{Inbox, InboxEntry, ReplayFilter, State};

use super::format_ms;
use crate::cli::{InboxCommand, InboxFilterArgs, InboxState};
use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};

/// Lists or replays.
pub(crate) async fn run(
    command: &InboxCommand,
    timeout: Duration,
    output: Output,
) -> Result<u8, CliError> {
    match command {
        InboxCommand::List(args) => {
            let inbox = open(&args.filter.database, timeout).await?;
            let filter = filter(&args.filter, &every_state());
            let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
            let entries = inbox.list(&filter, limit).await;
            inbox.close().await;
            print(&entries?, output)
        }
        InboxCommand::Replay(args) => {
            let inbox = open(&args.database, timeout).await?;
            let replayed = inbox.replay(&filter(args, &[State::Dead])).await;
            inbox.close().await;
            let replayed = replayed?;
            if output.is_json() {
                output.json(&json!({ "replayed": replayed }))?;
            } else {
                output.line(&format!("put back to pending: {replayed}"))?;
            }
            Ok(exit::OK)
        }
    }
}

/// Opens an inbox that exists: a SQLite file is never created here.
/// `timeout` (`--timeout`) bounds connecting.
async fn open(url: &str, timeout: Duration) -> Result<Inbox, CliError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).is_file() {
            return Err(CliError::Usage(format!(
                "--database: no SQLite file at {path}"
            )));
        }
    } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(CliError::Usage(format!(
            "--database {url:?}: expected sqlite://FILE or postgres://…"
        )));
    }
    Ok(Inbox::open_within(url, timeout).await?)
}

fn every_state() -> [State; 4] {
    [State::Pending, State::Done, State::Skipped, State::Dead]
}

/// The filter of the arguments; `default` states when none is given.
fn filter(args: &InboxFilterArgs, default: &[State]) -> ReplayFilter {
    let states: Vec<State> = args.states.iter().map(|state| state_of(*state)).collect();
    let mut filter = ReplayFilter::dead_letters()
        .states(if states.is_empty() { default } else { &states })
        .ids(
            args.from_id.unwrap_or(i64::MIN),
            args.to_id.unwrap_or(i64::MAX),
        );
    if let Some(since) = args.since {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |now| i64::try_from(now.as_millis()).unwrap_or(i64::MAX));
        let since = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
        filter = filter.received_between(now.saturating_sub(since), i64::MAX);
    }
    if let Some(subscription) = args.subscription {
        filter = filter.subscription(subscription);
    }
    filter
}

fn state_of(state: InboxState) -> State {
    match state {
        InboxState::Pending => State::Pending,
        InboxState::Done => State::Done,
        InboxState::Skipped => State::Skipped,
        InboxState::Dead => State::Dead,
    }
}

fn print(entries: &[InboxEntry], output: Output) -> Result<u8, CliError> {
    if output.is_json() {
        let values: Vec<_> = entries.iter().map(entry_json).collect();
        output.json(&values)?;
        return Ok(exit::OK);
    }
    if entries.is_empty() {
        output.line("no inbox events")?;
        return Ok(exit::OK);
    }
    let mut table = Table::new([
        "ID",
        "SUBSCRIPTION",
        "EVENT",
        "OBJECT",
        "VERSION",
        "STATE",
        "ATTEMPTS",
        "RECEIVED",
        "LAST ERROR",
    ]);
    for entry in entries {
        table.row(vec![
            entry.id.to_string().into(),
            entry
                .subscription_id
                .map(|id| id.to_string())
                .unwrap_or_default()
                .into(),
            entry.event.clone().into(),
            entry.object_key.clone().into(),
            entry
                .version
                .map(|v| v.to_string())
                .unwrap_or_default()
                .into(),
            state_cell(entry.state),
            entry.attempts.to_string().into(),
            format_ms(entry.received_ms).into(),
            entry.last_error.clone().unwrap_or_default().into(),
        ]);
    }
    output.table(&table)?;
    Ok(exit::OK)
}

fn state_cell(state: State) -> Cell {
    match state {
        State::Done => Cell::toned(state.as_str(), Tone::Good),
        State::Dead => Cell::toned(state.as_str(), Tone::Bad),
        State::Pending => Cell::toned(state.as_str(), Tone::Warn),
        State::Skipped => Cell::plain(state.as_str()),
    }
}

fn entry_json(entry: &InboxEntry) -> serde_json::Value {
    json!({
        "id": entry.id,
        "subscriptionId": entry.subscription_id,
        "event": entry.event,
        "object": entry.object_key,
        "version": entry.version,
        "deleted": entry.deleted,
        "idempotencyKey": entry.idempotency_key,
        "path": entry.path,
        "state": entry.state.as_str(),
        "attempts": entry.attempts,
        "receivedAtMs": entry.received_ms,
        "nextAttemptAtMs": entry.next_attempt_ms,
        "finishedAtMs": entry.finished_ms,
        "lastError": entry.last_error,
    })
}
