//! `events [EVENT]`: the catalogue, or one event.

use tripletex_webhooks_client::Client;
use tripletex_webhooks_client::types::EventType;

use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};

/// Prints the catalogue, or one event's description and examples.
pub(crate) async fn run(
    client: &Client,
    event: Option<&str>,
    output: Output,
) -> Result<u8, CliError> {
    if let Some(raw) = event {
        let event: EventType = raw
            .parse()
            .map_err(|error| CliError::Usage(format!("event {raw:?}: {error}")))?;
        let info = client.events().get(&event).await?;
        if output.is_json() {
            output.json(&info)?;
            return Ok(exit::OK);
        }
        output.line(&format!(
            "{}  {}",
            output.paint(&event.to_string(), crate::output::Tone::Header),
            info.description.as_deref().unwrap_or_default()
        ))?;
        output.line(&format!(
            "payload model: {}",
            info.payload_model
                .as_deref()
                .unwrap_or("none (deletes carry only the id)")
        ))?;
        for example in &info.examples {
            let text = serde_json::to_string(example).unwrap_or_default();
            output.line(&format!("example: {text}"))?;
        }
        return Ok(exit::OK);
    }
    let catalog = client.events().list().await?;
    if output.is_json() {
        output.json(&catalog)?;
        return Ok(exit::OK);
    }
    let mut table = Table::new(["EVENT", "MODEL", "DESCRIPTION"]);
    for (event, description) in &catalog.events {
        table.row(vec![
            event.to_string().into(),
            description
                .payload_model
                .as_deref()
                .map_or_else(|| Cell::toned("-", Tone::Dim), Cell::plain),
            description.description.clone().unwrap_or_default().into(),
        ]);
    }
    output.table(&table)?;
    Ok(exit::OK)
}
