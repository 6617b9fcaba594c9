//! Resync (a full sync that repairs what the webhooks missed) and health.

use std::collections::BTreeSet;

use futures::TryStreamExt as _;
use serde_json::Value;
use tripletex_webhooks_types::{Subject, SubscriptionStatus};

use crate::change::Source;
use crate::error::{MirrorError, Result};
use crate::mirror::{Mirror, SubjectConfig};
use crate::schedule::{self, ResyncSchedule};

/// What a [`Mirror::resync`] repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResyncReport {
    /// Objects seen in the complete lists.
    pub seen: usize,
    /// Objects created or updated because the list had a newer version.
    pub repaired_updates: usize,
    /// Objects tombstoned: present locally, absent from the complete list,
    /// and answered 404 by `GET /v2/<resource>/{id}`.
    pub repaired_deletes: usize,
    /// Objects absent from the complete list that the `GET` still found
    /// (kept, and applied when newer).
    pub confirmed_present: usize,
}

/// What [`Mirror::health`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthReport {
    /// The ids of the subscriptions found `DISABLED_TOO_MANY_ERRORS` and re-enabled.
    pub reenabled: Vec<i64>,
    /// The resync that followed.
    pub resync: ResyncReport,
}

impl Mirror {
    /// Syncs every subject completely, applying newer versions and
    /// tombstoning the objects that are gone: present locally, absent from
    /// the complete list, and answered 404 by `GET /v2/<resource>/{id}`.
    pub async fn resync(&self) -> Result<ResyncReport> {
        let mut report = ResyncReport::default();
        let subjects: Vec<Subject> = self.subjects().cloned().collect();
        for subject in subjects {
            self.resync_subject(&subject, &mut report).await?;
        }
        self.deliver_changes().await?;
        tracing::info!(
            seen = report.seen,
            repaired_updates = report.repaired_updates,
            repaired_deletes = report.repaired_deletes,
            confirmed_present = report.confirmed_present,
            "mirror resync"
        );
        Ok(report)
    }

    async fn resync_subject(&self, subject: &Subject, report: &mut ResyncReport) -> Result<()> {
        let config = self
            .subject_config(subject)
            .ok_or_else(|| MirrorError::Config(format!("{subject} is not mirrored")))?;
        let name = subject.as_str();
        let mut seen = BTreeSet::new();
        let mut pages = self.sync_of(config).pages();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(MirrorError::api(format!("resyncing {subject}")))?
        {
            let values = page.values.unwrap_or_default();
            report.seen += values.len();
            seen.extend(
                values
                    .iter()
                    .filter_map(|o| o.get("id").and_then(Value::as_i64)),
            );
            report.repaired_updates += self
                .store()
                .apply_objects(name, &values, Source::Sync)
                .await?
                .len();
        }
        let missing: Vec<i64> = self
            .store()
            .objects(name)
            .await?
            .into_iter()
            .filter(|o| !o.deleted && !seen.contains(&o.id))
            .map(|o| o.id)
            .collect();
        for id in missing {
            self.confirm_missing(config, id, report).await?;
        }
        Ok(())
    }

    /// An object present locally but absent from the complete list is
    /// deleted only when `GET /v2/<resource>/{id}` answers 404: a delete
    /// during a `from`/`count` walk shifts later objects to earlier pages,
    /// so one can be missed by the walk and still exist. One that still
    /// exists is applied like a list object.
    async fn confirm_missing(
        &self,
        config: &SubjectConfig,
        id: i64,
        report: &mut ResyncReport,
    ) -> Result<()> {
        let name = config.subject.as_str();
        let fetched = self
            .config()
            .client
            .objects(config.path)
            .get(id)
            .fields(config.fields.clone())
            .raw()
            .await;
        match fetched {
            Ok(object) => {
                report.confirmed_present += 1;
                if self
                    .store()
                    .apply_object(name, &object, Source::Sync)
                    .await?
                    .is_some()
                {
                    report.repaired_updates += 1;
                }
            }
            Err(error) if error.is_not_found() => {
                if self
                    .store()
                    .apply_delete(name, id, Source::Sync)
                    .await?
                    .is_some()
                {
                    report.repaired_deletes += 1;
                }
            }
            Err(error) => {
                return Err(MirrorError::api(format!(
                    "confirming that {} {id} was deleted",
                    config.subject
                ))(error));
            }
        }
        Ok(())
    }

    /// Re-enables the mirror's subscriptions that Tripletex disabled with
    /// `DISABLED_TOO_MANY_ERRORS` (deliveries were lost), then resyncs.
    pub async fn health(&self) -> Result<HealthReport> {
        let config = self.config();
        let subscriptions = config
            .client
            .subscriptions()
            .list()
            .all()
            .await
            .map_err(MirrorError::api("listing the subscriptions"))?;
        let mut reenabled = Vec::new();
        for subscription in subscriptions {
            let ours = subscription.target_url.as_deref() == Some(config.target_url.as_str());
            let disabled = subscription.status == Some(SubscriptionStatus::DisabledTooManyErrors);
            if let (true, true, Some(id)) = (ours, disabled, subscription.id) {
                config
                    .client
                    .subscriptions()
                    .reenable(id)
                    .await
                    .map_err(MirrorError::api(format!("re-enabling subscription {id}")))?;
                tracing::warn!(
                    subscription = id,
                    "mirror re-enabled a disabled subscription"
                );
                reenabled.push(id);
            }
        }
        let resync = self.resync().await?;
        Ok(HealthReport { reenabled, resync })
    }

    /// Runs [`Mirror::health`] (re-enable, then resync) on `schedule`,
    /// logging each report or failure, until the handle is aborted.
    pub fn spawn_resync(&self, schedule: ResyncSchedule) -> tokio::task::JoinHandle<()> {
        let mirror = self.clone();
        let clock = self.store().clock();
        tokio::spawn(schedule::run(schedule, clock, move || {
            let mirror = mirror.clone();
            async move {
                if let Err(error) = mirror.health().await {
                    tracing::warn!(%error, "mirror scheduled resync failed");
                }
            }
        }))
    }
}
