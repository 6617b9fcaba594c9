//! `trigger EVENT [--id N] [--value JSON|@FILE]`.

use serde_json::{Value, json};
use tripletex_webhooks_client::types::EventType;

use crate::cli::TriggerArgs;
use crate::emulator::Emulator;
use crate::error::{CliError, exit};
use crate::output::Output;

/// Emits the event on the bundled server.
pub(crate) async fn run(
    emulator: &Emulator,
    args: &TriggerArgs,
    output: Output,
) -> Result<u8, CliError> {
    let event: EventType = args
        .event
        .parse()
        .map_err(|error| CliError::Usage(format!("event {:?}: {error}", args.event)))?;
    let value = value(args.value.as_deref(), args.id, event.is_delete())?;
    let emitted = emulator.emit(&event.to_string(), args.id, value).await?;
    if output.is_json() {
        output.json(&emitted)?;
    } else {
        let plural = if emitted.deliveries == 1 {
            "delivery"
        } else {
            "deliveries"
        };
        output.line(&format!(
            "emitted {} for object {}: {} {plural} queued",
            emitted.event, emitted.id, emitted.deliveries
        ))?;
    }
    Ok(exit::OK)
}

/// The object: `--value` as JSON or `@FILE`, else `{"id": ID}` (`null` for deletes).
fn value(raw: Option<&str>, id: i64, delete: bool) -> Result<Value, CliError> {
    let Some(raw) = raw else {
        return Ok(if delete {
            Value::Null
        } else {
            json!({ "id": id })
        });
    };
    let text = match raw.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| CliError::Usage(format!("--value @{path}: {error}")))?,
        None => raw.to_owned(),
    };
    serde_json::from_str(&text)
        .map_err(|error| CliError::Usage(format!("--value is not JSON: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_default_by_event_and_parse() {
        assert_eq!(value(None, 7, false).ok(), Some(json!({"id": 7})));
        assert_eq!(value(None, 7, true).ok(), Some(Value::Null));
        assert_eq!(
            value(Some(r#"{"id":1,"name":"x"}"#), 1, false).ok(),
            Some(json!({"id":1,"name":"x"}))
        );
        assert!(matches!(
            value(Some("{nope"), 1, false),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            value(Some("@/does/not/exist"), 1, false),
            Err(CliError::Usage(_))
        ));
    }
}
