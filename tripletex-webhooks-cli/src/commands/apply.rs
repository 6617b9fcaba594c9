//! `subscriptions apply FILE [--dry-run] [--prune]`: the plan of the client's
//! `reconcile` as a table, then carried out.

use serde_json::{Value, json};
use tripletex_webhooks_client::reconcile::{Difference, redact_url};
use tripletex_webhooks_client::types::Subscription;
use tripletex_webhooks_client::{Client, ReconcilePlan};

use crate::cli::ApplyArgs;
use crate::desired;
use crate::error::{CliError, exit};
use crate::output::{Cell, Output, Table, Tone};
use crate::progress::{self, Progress};

/// Plans, prints the plan, and applies it unless `--dry-run`.
pub(crate) async fn run(client: &Client, args: &ApplyArgs, output: Output) -> Result<u8, CliError> {
    let text = std::fs::read_to_string(&args.file).map_err(|error| {
        CliError::Usage(format!("cannot read {}: {error}", args.file.display()))
    })?;
    let desired =
        desired::parse(&text, |name| std::env::var(name).ok()).map_err(|error| match error {
            CliError::Usage(message) => {
                CliError::Usage(format!("{}: {message}", args.file.display()))
            }
            other => other,
        })?;
    if args.prune && desired.subscriptions.is_empty() && desired.scope.is_none() {
        return Err(CliError::Usage(format!(
            "{} lists no subscriptions and no scope: --prune would delete every subscription of \
             the company (use `subscriptions delete` for that)",
            args.file.display()
        )));
    }
    let progress = Progress::spinner(progress::enabled(output.is_json()), "planning");
    let mut reconcile = client
        .subscriptions()
        .reconcile(desired.subscriptions)
        .delete_extra(args.prune)
        .resend_secrets(args.resend_secrets);
    if let Some(scope) = desired.scope {
        reconcile = reconcile.scope(move |s: &Subscription| {
            s.target_url
                .as_deref()
                .is_some_and(|target| target.starts_with(&scope))
        });
    }
    let plan = reconcile.dry_run().await?;
    let changes = plan.creates.len() + plan.updates.len() + plan.deletes.len();
    if args.dry_run || plan.is_noop() {
        drop(progress);
        print(&plan, false, output)?;
        return Ok(if args.dry_run && !plan.is_noop() {
            exit::DRIFT
        } else {
            exit::OK
        });
    }
    progress.message(&format!("applying {changes} changes"));
    let report = client.subscriptions().apply_plan(plan).await?;
    drop(progress);
    print(&report.plan, true, output)?;
    Ok(exit::OK)
}

/// The action of a planned update, as shown.
fn update_action(differences: &[Difference]) -> &'static str {
    if differences.contains(&Difference::Reenable) {
        "re-enable"
    } else if differences.contains(&Difference::Disable) {
        "disable"
    } else {
        "update"
    }
}

fn describe(subscription: &Subscription) -> (String, String) {
    (
        subscription
            .event
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        subscription
            .target_url
            .as_deref()
            .map(redact_url)
            .unwrap_or_default(),
    )
}

fn print(plan: &ReconcilePlan, applied: bool, output: Output) -> Result<(), CliError> {
    if output.is_json() {
        return output.json(&plan_json(plan, applied));
    }
    if plan.is_noop() {
        return output.line(&format!(
            "nothing to do: {} subscriptions up to date",
            plan.unchanged.len()
        ));
    }
    let mut table = Table::new(["ACTION", "ID", "EVENT", "TARGET", "CHANGES"]);
    for new in &plan.creates {
        table.row(vec![
            Cell::toned("create", Tone::Good),
            Cell::toned("-", Tone::Dim),
            new.event.to_string().into(),
            redact_url(&new.target_url).into(),
            Cell::plain(""),
        ]);
    }
    for update in &plan.updates {
        let (event, target) = describe(&update.current);
        let changes: Vec<String> = update.differences.iter().map(ToString::to_string).collect();
        table.row(vec![
            Cell::toned(update_action(&update.differences), Tone::Warn),
            update
                .current
                .id
                .map(|id| id.to_string())
                .unwrap_or_default()
                .into(),
            event.into(),
            target.into(),
            changes.join(", ").into(),
        ]);
    }
    for subscription in &plan.deletes {
        let (event, target) = describe(subscription);
        table.row(vec![
            Cell::toned("delete", Tone::Bad),
            subscription
                .id
                .map(|id| id.to_string())
                .unwrap_or_default()
                .into(),
            event.into(),
            target.into(),
            Cell::plain(""),
        ]);
    }
    output.table(&table)?;
    let counts = || {
        format!(
            "{} to create, {} to update, {} to delete, {} unchanged",
            plan.creates.len(),
            plan.updates.len(),
            plan.deletes.len(),
            plan.unchanged.len()
        )
    };
    if applied {
        output.line(&format!(
            "applied: {} created, {} updated, {} deleted, {} unchanged",
            plan.creates.len(),
            plan.updates.len(),
            plan.deletes.len(),
            plan.unchanged.len()
        ))
    } else {
        output.line(&format!("plan: {} (dry run: nothing changed)", counts()))
    }
}

fn plan_json(plan: &ReconcilePlan, applied: bool) -> Value {
    let creates: Vec<Value> = plan
        .creates
        .iter()
        .map(|new| json!({"event": new.event.to_string(), "target": redact_url(&new.target_url)}))
        .collect();
    let updates: Vec<Value> = plan
        .updates
        .iter()
        .map(|update| {
            let (event, target) = describe(&update.current);
            let changes: Vec<String> = update.differences.iter().map(ToString::to_string).collect();
            json!({
                "id": update.current.id,
                "action": update_action(&update.differences),
                "event": event,
                "target": target,
                "changes": changes,
            })
        })
        .collect();
    let deletes: Vec<Value> = plan
        .deletes
        .iter()
        .map(|subscription| {
            let (event, target) = describe(subscription);
            json!({"id": subscription.id, "event": event, "target": target})
        })
        .collect();
    let unchanged: Vec<Option<i64>> = plan.unchanged.iter().map(|s| s.id).collect();
    json!({
        "changed": !plan.is_noop(),
        "applied": applied && !plan.is_noop(),
        "create": creates,
        "update": updates,
        "delete": deletes,
        "unchanged": unchanged,
    })
}
