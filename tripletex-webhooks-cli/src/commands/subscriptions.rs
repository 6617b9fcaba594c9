//! `subscriptions list | show | create | delete | enable | disable`.

use std::path::Path;

use secrecy::SecretString;
use serde_json::Value;
use tripletex_webhooks_client::Client;
use tripletex_webhooks_client::reconcile::redact_url;
use tripletex_webhooks_client::types::{
    EventType, NewSubscription, Subscription, SubscriptionStatus, SubscriptionUpdate,
};

use crate::cli::{CreateArgs, SubscriptionsCommand};
use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};
use crate::progress::{self, Progress};

/// Runs one of the subscription commands other than `apply`.
pub(crate) async fn run(
    client: &Client,
    command: &SubscriptionsCommand,
    output: Output,
) -> Result<u8, CliError> {
    let subscriptions = match command {
        SubscriptionsCommand::List => {
            let _progress = Progress::spinner(progress::enabled(output.is_json()), "listing");
            client.subscriptions().list().all().await?
        }
        SubscriptionsCommand::Show { id } => vec![client.subscriptions().get(*id).await?],
        SubscriptionsCommand::Create(args) => create(client, args).await?,
        SubscriptionsCommand::Delete { ids } => {
            let deleted = each(ids, output, "deleting", |id| async move {
                client.subscriptions().delete(id).await.map(|()| id)
            })
            .await?;
            if output.is_json() {
                output.json(&serde_json::json!({ "deleted": ids }))?;
            } else {
                for id in deleted {
                    output.line(&format!("deleted subscription {id}"))?;
                }
            }
            return Ok(exit::OK);
        }
        SubscriptionsCommand::Enable { ids } => {
            each(ids, output, "enabling", |id| async move {
                client.subscriptions().reenable(id).await
            })
            .await?
        }
        SubscriptionsCommand::Disable { ids } => {
            each(ids, output, "disabling", |id| async move {
                let update = SubscriptionUpdate {
                    status: Some(SubscriptionStatus::Disabled),
                    ..SubscriptionUpdate::default()
                };
                client.subscriptions().update(id, &update).await
            })
            .await?
        }
        SubscriptionsCommand::Apply(_) => {
            return Err(CliError::Usage("apply is run by its own module".to_owned()));
        }
    };
    if let (SubscriptionsCommand::Show { .. }, Some(subscription)) =
        (command, subscriptions.first())
    {
        if output.is_json() {
            output.json(&view(subscription))?;
        } else {
            show(subscription, output)?;
        }
        return Ok(exit::OK);
    }
    print(&subscriptions, output)?;
    Ok(exit::OK)
}

/// Runs `call` for each id in turn with a progress bar; stops at the first error.
async fn each<T, F, Fut>(
    ids: &[i64],
    output: Output,
    what: &str,
    call: F,
) -> Result<Vec<T>, CliError>
where
    F: Fn(i64) -> Fut,
    Fut: Future<Output = tripletex_webhooks_client::Result<T>>,
{
    let progress = Progress::bar(
        progress::enabled(output.is_json()) && ids.len() > 1,
        ids.len(),
        what,
    );
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        done.push(call(*id).await?);
        progress.step();
    }
    Ok(done)
}

async fn create(client: &Client, args: &CreateArgs) -> Result<Vec<Subscription>, CliError> {
    let auth_value = secret(
        args.auth_value_env.as_deref(),
        args.auth_value_file.as_deref(),
        "--auth-value",
    )?;
    let hmac = secret(
        args.hmac_secret_env.as_deref(),
        args.hmac_secret_file.as_deref(),
        "--hmac-secret",
    )?;
    if args.auth_header.is_some() && auth_value.is_none() {
        return Err(CliError::Usage(
            "--auth-header needs its value from --auth-value-env VAR or --auth-value-file PATH"
                .to_owned(),
        ));
    }
    let mut news = Vec::with_capacity(args.events.len());
    for raw in &args.events {
        let event: EventType = raw
            .parse()
            .map_err(|error| CliError::Usage(format!("--event {raw:?}: {error}")))?;
        let mut new = NewSubscription::new(event, args.target.clone());
        if let Some(fields) = &args.fields {
            new = new.with_fields(fields.clone());
        }
        if let (Some(name), Some(value)) = (&args.auth_header, &auth_value) {
            new = new.with_auth_header(name.clone(), value.clone());
        }
        if let Some(secret) = &hmac {
            new = new.with_hmac_secret(secret.clone());
        }
        news.push(new);
    }
    Ok(client.subscriptions().create_many(&news).await?)
}

/// A secret from the environment variable or the file named (trailing newline dropped).
pub(crate) fn secret(
    env: Option<&str>,
    file: Option<&Path>,
    flag: &str,
) -> Result<Option<SecretString>, CliError> {
    if let Some(name) = env {
        return match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Some(value.into())),
            _ => Err(CliError::Usage(format!(
                "{flag}-env: the environment variable {name} is not set"
            ))),
        };
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            CliError::Usage(format!(
                "{flag}-file: cannot read {}: {error}",
                path.display()
            ))
        })?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(CliError::Usage(format!(
                "{flag}-file: {} is empty",
                path.display()
            )));
        }
        return Ok(Some(value.to_owned().into()));
    }
    Ok(None)
}

/// A subscription as printed: its target URL without credentials or query.
pub(crate) fn view(subscription: &Subscription) -> Value {
    let mut shown = subscription.clone();
    shown.target_url = shown.target_url.as_deref().map(redact_url);
    serde_json::to_value(&shown).unwrap_or(Value::Null)
}

/// The tone of a subscription status: active good, disabled by Tripletex bad.
pub(crate) fn status_tone(status: &SubscriptionStatus) -> Tone {
    if status.is_active() {
        Tone::Good
    } else if status.is_disabled_by_system() {
        Tone::Bad
    } else {
        Tone::Warn
    }
}

/// A subscription status, toned.
pub(crate) fn status_cell(status: Option<&SubscriptionStatus>) -> Cell {
    match status {
        Some(status) => Cell::toned(status.to_string(), status_tone(status)),
        None => Cell::plain("-"),
    }
}

fn print(subscriptions: &[Subscription], output: Output) -> Result<(), CliError> {
    if output.is_json() {
        let views: Vec<Value> = subscriptions.iter().map(view).collect();
        return output.json(&views);
    }
    let mut table = Table::new(["ID", "EVENT", "STATUS", "TARGET", "FIELDS", "AUTH HEADER"]);
    for subscription in subscriptions {
        table.row(vec![
            subscription
                .id
                .map(|id| id.to_string())
                .unwrap_or_default()
                .into(),
            subscription
                .event
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
                .into(),
            status_cell(subscription.status.as_ref()),
            subscription
                .target_url
                .as_deref()
                .map(redact_url)
                .unwrap_or_default()
                .into(),
            subscription
                .fields
                .clone()
                .unwrap_or_else(|| "-".to_owned())
                .into(),
            subscription
                .auth_header_name
                .clone()
                .unwrap_or_else(|| "-".to_owned())
                .into(),
        ]);
    }
    if table.is_empty() {
        return output.line("no subscriptions");
    }
    output.table(&table)
}

fn show(subscription: &Subscription, output: Output) -> Result<(), CliError> {
    let mut table = Table::new(["FIELD", "VALUE"]);
    let text = |value: Option<String>| Cell::plain(value.unwrap_or_else(|| "-".to_owned()));
    table.row(vec![
        "id".into(),
        text(subscription.id.map(|id| id.to_string())),
    ]);
    table.row(vec![
        "version".into(),
        text(subscription.version.map(|v| v.to_string())),
    ]);
    table.row(vec![
        "event".into(),
        text(subscription.event.as_ref().map(ToString::to_string)),
    ]);
    table.row(vec![
        "status".into(),
        status_cell(subscription.status.as_ref()),
    ]);
    table.row(vec![
        "target".into(),
        text(subscription.target_url.as_deref().map(redact_url)),
    ]);
    table.row(vec!["fields".into(), text(subscription.fields.clone())]);
    table.row(vec![
        "auth header".into(),
        text(subscription.auth_header_name.clone()),
    ]);
    table.row(vec!["url".into(), text(subscription.url.clone())]);
    output.table(&table)
}
