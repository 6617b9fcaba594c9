//! Planning a reconciliation: which subscriptions to create, update,
//! re-enable and delete. Pure: no I/O, so every rule is unit-tested.

use std::collections::HashMap;
use std::fmt;

use secrecy::SecretString;
use tripletex_webhooks_types::fields::FieldsFilter;
use tripletex_webhooks_types::{
    EventType, NewSubscription, Subscription, SubscriptionStatus, SubscriptionUpdate,
};

use crate::error::{Error, Result};

/// What a reconciliation will do (or did): its [`dry_run`](super::Reconcile::dry_run)
/// result. Displays as one line per action, with target URLs redacted.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReconcilePlan {
    /// Desired subscriptions that do not exist yet.
    pub creates: Vec<NewSubscription>,
    /// Existing subscriptions that differ from what is desired.
    pub updates: Vec<PlannedUpdate>,
    /// Existing subscriptions not desired (only with `delete_extra`).
    pub deletes: Vec<Subscription>,
    /// Existing subscriptions already as desired.
    pub unchanged: Vec<Subscription>,
}

/// One planned update of an existing subscription.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlannedUpdate {
    /// The subscription as it is now.
    pub current: Subscription,
    /// The change to send (with the current `id` and `version`).
    pub update: SubscriptionUpdate,
    /// What differs.
    pub differences: Vec<Difference>,
}

/// A way an existing subscription differs from the desired one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Difference {
    /// The `fields` filter.
    Fields,
    /// The custom authentication header's name (or its presence).
    AuthHeader,
    /// It is disabled (by the client or by Tripletex) and should be active.
    Reenable,
    /// It is active and should be disabled.
    Disable,
    /// Only the write-only secrets, re-sent because `resend_secrets` was asked.
    Secrets,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fields => "fields",
            Self::AuthHeader => "auth header",
            Self::Reenable => "re-enable",
            Self::Disable => "disable",
            Self::Secrets => "secrets",
        })
    }
}

impl PlannedUpdate {
    /// Whether the update sets a disabled subscription `ACTIVE` again.
    pub fn reenables(&self) -> bool {
        self.differences.contains(&Difference::Reenable)
    }
}

impl ReconcilePlan {
    /// Whether there is nothing to do.
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }

    /// The planned updates that re-enable a subscription.
    pub fn reenables(&self) -> impl Iterator<Item = &PlannedUpdate> {
        self.updates.iter().filter(|update| update.reenables())
    }
}

impl fmt::Display for ReconcilePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_noop() {
            return writeln!(f, "nothing to do ({} up to date)", self.unchanged.len());
        }
        for new in &self.creates {
            writeln!(
                f,
                "create  {} -> {}",
                new.event,
                redact_url(&new.target_url)
            )?;
        }
        for update in &self.updates {
            let differences: Vec<_> = update.differences.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "update  #{} {} ({})",
                update.current.id.unwrap_or_default(),
                describe(&update.current),
                differences.join(", ")
            )?;
        }
        for subscription in &self.deletes {
            writeln!(
                f,
                "delete  #{} {}",
                subscription.id.unwrap_or_default(),
                describe(subscription)
            )?;
        }
        Ok(())
    }
}

fn describe(subscription: &Subscription) -> String {
    let event = subscription
        .event
        .as_ref()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
    let target = subscription
        .target_url
        .as_deref()
        .map_or_else(|| "?".to_owned(), redact_url);
    format!("{event} -> {target}")
}

/// A target URL without its credentials or query, which may carry secrets.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let had_query = url.query().is_some();
            let had_credentials = !url.username().is_empty() || url.password().is_some();
            url.set_query(None);
            url.set_fragment(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            let mut shown = url.to_string();
            if had_credentials {
                shown = shown.replacen("://", "://***@", 1);
            }
            if had_query {
                shown.push_str("?***");
            }
            shown
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// Which existing subscriptions the plan may touch, and how.
pub(crate) struct PlanOptions<'a> {
    pub(crate) delete_extra: bool,
    pub(crate) resend_secrets: bool,
    pub(crate) scope: &'a dyn Fn(&Subscription) -> bool,
}

/// A subscription's identity for reconciliation.
type Key = (EventType, String);

/// The plan that turns `existing` into `desired`.
///
/// Subscriptions are matched on (event, target URL). Among several existing
/// matches the active one with the lowest id is kept; the others are extras.
pub(crate) fn plan(
    desired: &[NewSubscription],
    existing: Vec<Subscription>,
    options: &PlanOptions<'_>,
) -> Result<ReconcilePlan> {
    check_unique(desired)?;
    let mut candidates: Vec<Subscription> = existing
        .into_iter()
        .filter(|s| s.id.is_some() && s.event.is_some() && s.target_url.is_some())
        .filter(|s| (options.scope)(s))
        .collect();
    candidates.sort_by_key(|s| (!status_of(s).is_active(), s.id));
    let mut by_key: HashMap<Key, Subscription> = HashMap::new();
    let mut extras = Vec::new();
    for subscription in candidates {
        match key_of(&subscription) {
            Some(key) if !by_key.contains_key(&key) => {
                by_key.insert(key, subscription);
            }
            _ => extras.push(subscription),
        }
    }
    let mut plan = ReconcilePlan::default();
    for new in desired {
        match by_key.remove(&(new.event.clone(), new.target_url.clone())) {
            Some(current) => match diff(new, &current, options.resend_secrets) {
                Some(update) => plan.updates.push(update),
                None => plan.unchanged.push(current),
            },
            None => plan.creates.push(new.clone()),
        }
    }
    extras.extend(by_key.into_values());
    extras.sort_by_key(|s| s.id);
    if options.delete_extra {
        plan.deletes = extras;
    }
    Ok(plan)
}

fn check_unique(desired: &[NewSubscription]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for new in desired {
        if !seen.insert((&new.event, &new.target_url)) {
            return Err(Error::invalid_input(format!(
                "the desired set has {} to {} twice",
                new.event,
                redact_url(&new.target_url)
            )));
        }
    }
    Ok(())
}

fn key_of(subscription: &Subscription) -> Option<Key> {
    Some((
        subscription.event.clone()?,
        subscription.target_url.clone()?,
    ))
}

fn status_of(subscription: &Subscription) -> SubscriptionStatus {
    subscription
        .status
        .clone()
        .unwrap_or(SubscriptionStatus::Active)
}

/// The update that makes `current` what `new` describes, or `None` if it already is.
fn diff(
    new: &NewSubscription,
    current: &Subscription,
    resend_secrets: bool,
) -> Option<PlannedUpdate> {
    let mut update = SubscriptionUpdate {
        id: current.id,
        version: current.version,
        ..SubscriptionUpdate::default()
    };
    let mut differences = Vec::new();
    if !same_fields(new.fields.as_deref(), current.fields.as_deref()) {
        update.fields = Some(new.fields.clone().unwrap_or_default());
        differences.push(Difference::Fields);
    }
    if non_empty(new.auth_header_name.as_deref()) != non_empty(current.auth_header_name.as_deref())
    {
        update.auth_header_name = Some(new.auth_header_name.clone().unwrap_or_default());
        differences.push(Difference::AuthHeader);
    }
    if let Some(status) = status_change(new, current) {
        differences.push(if status.is_active() {
            Difference::Reenable
        } else {
            Difference::Disable
        });
        update.status = Some(status);
    }
    let has_secrets = new.auth_header_value.is_some() || new.hmac_shared_secret.is_some();
    if differences.is_empty() && !(resend_secrets && has_secrets) {
        return None;
    }
    if differences.is_empty() {
        differences.push(Difference::Secrets);
    }
    with_secrets(&mut update, new);
    Some(PlannedUpdate {
        current: current.clone(),
        update,
        differences,
    })
}

/// Sends the desired secrets with every update, so they stay consistent with
/// the visible fields; clears the header value along with its name.
fn with_secrets(update: &mut SubscriptionUpdate, new: &NewSubscription) {
    if non_empty(new.auth_header_name.as_deref()).is_some() {
        update.auth_header_name.clone_from(&new.auth_header_name);
        update.auth_header_value.clone_from(&new.auth_header_value);
    } else if update.auth_header_name.is_some() {
        update.auth_header_value = Some(SecretString::from(""));
    }
    update
        .hmac_shared_secret
        .clone_from(&new.hmac_shared_secret);
}

/// The status to set, if any: desired `ACTIVE` (the default) re-enables any
/// disabled subscription; desired `DISABLED` disables an active one.
fn status_change(new: &NewSubscription, current: &Subscription) -> Option<SubscriptionStatus> {
    let wanted = new.status.clone().unwrap_or(SubscriptionStatus::Active);
    let now = status_of(current);
    match (wanted.is_active(), now.is_active()) {
        (true, false) => Some(SubscriptionStatus::Active),
        (false, true) => Some(SubscriptionStatus::Disabled),
        _ => None,
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// Whether two `fields` filters are the same once parsed (`id, name` is
/// `id,name`; absent is empty); unparsable ones compare as text.
fn same_fields(a: Option<&str>, b: Option<&str>) -> bool {
    match (non_empty(a), non_empty(b)) {
        (None, None) => true,
        (Some(a), Some(b)) => match (FieldsFilter::parse(a), FieldsFilter::parse(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const TARGET: &str = "https://example.com/hooks";

    fn new(event: &str) -> NewSubscription {
        NewSubscription::new(event.parse().unwrap(), TARGET)
    }

    fn existing(id: i64, event: &str, status: SubscriptionStatus) -> Subscription {
        Subscription {
            id: Some(id),
            version: Some(3),
            event: Some(event.parse().unwrap()),
            target_url: Some(TARGET.to_owned()),
            status: Some(status),
            ..Subscription::default()
        }
    }

    fn run(
        desired: &[NewSubscription],
        existing: Vec<Subscription>,
        delete_extra: bool,
    ) -> ReconcilePlan {
        let options = PlanOptions {
            delete_extra,
            resend_secrets: false,
            scope: &|_| true,
        };
        plan(desired, existing, &options).unwrap()
    }

    #[test]
    fn missing_ones_are_created_and_matching_ones_kept() {
        let desired = [new("product.create"), new("product.update")];
        let plan = run(
            &desired,
            vec![existing(1, "product.create", SubscriptionStatus::Active)],
            false,
        );
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].event.to_string(), "product.update");
        assert_eq!(plan.unchanged[0].id, Some(1));
        assert!(plan.updates.is_empty() && plan.deletes.is_empty());
    }

    #[test]
    fn disabled_ones_are_reenabled_with_their_version() {
        let plan = run(
            &[new("product.create")],
            vec![existing(
                1,
                "product.create",
                SubscriptionStatus::DisabledTooManyErrors,
            )],
            false,
        );
        let update = &plan.updates[0];
        assert!(update.reenables());
        assert_eq!(
            serde_json::to_value(&update.update).unwrap(),
            serde_json::json!({"id": 1, "version": 3, "status": "ACTIVE"})
        );
        assert_eq!(plan.reenables().count(), 1);
    }

    #[test]
    fn fields_compare_semantically_and_changes_carry_the_secrets() {
        let mut current = existing(1, "product.create", SubscriptionStatus::Active);
        current.fields = Some("id, name".to_owned());
        current.auth_header_name = Some("Authorization".to_owned());
        let same = new("product.create")
            .with_fields("id,name")
            .with_auth_header("Authorization", "Bearer x");
        assert!(run(&[same], vec![current.clone()], false).is_noop());

        let changed = new("product.create")
            .with_fields("*")
            .with_auth_header("Authorization", "Bearer x")
            .with_hmac_secret("0123456789");
        let plan = run(&[changed], vec![current], false);
        let update = &plan.updates[0].update;
        assert_eq!(plan.updates[0].differences, [Difference::Fields]);
        assert_eq!(update.fields.as_deref(), Some("*"));
        assert_eq!(
            update.auth_header_value.as_ref().unwrap().expose_secret(),
            "Bearer x"
        );
        assert_eq!(
            update.hmac_shared_secret.as_ref().unwrap().expose_secret(),
            "0123456789"
        );
    }

    #[test]
    fn a_removed_auth_header_is_cleared() {
        let mut current = existing(1, "product.create", SubscriptionStatus::Active);
        current.auth_header_name = Some("X-Token".to_owned());
        let plan = run(&[new("product.create")], vec![current], false);
        let update = &plan.updates[0].update;
        assert_eq!(update.auth_header_name.as_deref(), Some(""));
        assert_eq!(
            update.auth_header_value.as_ref().unwrap().expose_secret(),
            ""
        );
    }

    #[test]
    fn secrets_are_resent_only_when_asked() {
        let desired = [new("product.create").with_hmac_secret("0123456789")];
        let current = vec![existing(1, "product.create", SubscriptionStatus::Active)];
        assert!(run(&desired, current.clone(), false).is_noop());
        let options = PlanOptions {
            delete_extra: false,
            resend_secrets: true,
            scope: &|_| true,
        };
        let plan = plan(&desired, current, &options).unwrap();
        assert_eq!(plan.updates[0].differences, [Difference::Secrets]);
    }

    #[test]
    fn extras_and_duplicates_are_deleted_only_when_asked() {
        let current = vec![
            existing(5, "product.create", SubscriptionStatus::Disabled),
            existing(7, "product.create", SubscriptionStatus::Active),
            existing(9, "order.create", SubscriptionStatus::Active),
        ];
        let desired = [new("product.create")];
        let kept = run(&desired, current.clone(), false);
        assert_eq!(kept.unchanged[0].id, Some(7), "the active one is kept");
        assert!(kept.deletes.is_empty());
        let pruned = run(&desired, current, true);
        let ids: Vec<_> = pruned.deletes.iter().map(|s| s.id).collect();
        assert_eq!(ids, [Some(5), Some(9)]);
    }

    #[test]
    fn the_scope_hides_other_integrations_subscriptions() {
        let mut foreign = existing(9, "order.create", SubscriptionStatus::Active);
        foreign.target_url = Some("https://other.example/hook".to_owned());
        let options = PlanOptions {
            delete_extra: true,
            resend_secrets: false,
            scope: &|s| s.target_url.as_deref() == Some(TARGET),
        };
        let plan = plan(&[new("product.create")], vec![foreign], &options).unwrap();
        assert!(plan.deletes.is_empty());
        assert_eq!(plan.creates.len(), 1);
    }

    #[test]
    fn duplicate_desired_subscriptions_are_refused() {
        let options = PlanOptions {
            delete_extra: false,
            resend_secrets: false,
            scope: &|_| true,
        };
        let error = plan(
            &[new("product.create"), new("product.create")],
            Vec::new(),
            &options,
        )
        .unwrap_err();
        assert!(error.is_invalid_input(), "{error}");
    }

    #[test]
    fn display_redacts_target_urls() {
        let plan = ReconcilePlan {
            creates: vec![NewSubscription::new(
                "product.create".parse().unwrap(),
                "https://user:pw@example.com/hook?token=s3cret",
            )],
            ..ReconcilePlan::default()
        };
        let shown = plan.to_string();
        assert_eq!(
            shown,
            "create  product.create -> https://***@example.com/hook?***\n"
        );
        assert_eq!(
            ReconcilePlan::default().to_string(),
            "nothing to do (0 up to date)\n"
        );
    }
}
