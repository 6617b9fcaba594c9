//! Starting a mirror: subscriptions, propagation, the resumable backfill.

use futures::TryStreamExt as _;
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tripletex_webhooks_client::sync::SyncState;
use tripletex_webhooks_types::event_type::Verb;
use tripletex_webhooks_types::{EventType, NewSubscription, Subject};

use crate::change::Source;
use crate::error::{MirrorError, Result};
use crate::mirror::{Mirror, SubjectConfig};
use crate::progress::{Forecast, Progress};
use crate::store::BackfillMark;

/// What [`Mirror::start`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StartReport {
    /// Subscriptions created.
    pub subscriptions_created: usize,
    /// Subscriptions updated (or re-enabled).
    pub subscriptions_updated: usize,
    /// Objects applied by the backfill.
    pub applied: usize,
}

/// What one [`Mirror::backfill_subject`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackfillReport {
    /// Pages fetched in this call.
    pub pages: usize,
    /// Of them, pages skipped as unchanged since the saved state.
    pub unchanged_pages: usize,
    /// Objects applied (newer than stored).
    pub applied: usize,
    /// Whether the subject's backfill is complete.
    pub done: bool,
}

impl Mirror {
    /// Delivers changes a crash left undelivered, reconciles the
    /// `create`/`update`/`delete` subscriptions of each subject, waits for
    /// them to propagate, then backfills each subject (continuing an
    /// interrupted backfill from its last committed page).
    pub async fn start(&self) -> Result<StartReport> {
        self.deliver_changes().await?;
        let reconciled = self.reconcile().await?;
        let mut report = StartReport {
            subscriptions_created: reconciled.created.len(),
            subscriptions_updated: reconciled.updated.len(),
            applied: 0,
        };
        tokio::time::sleep(self.config().propagation).await;
        let subjects: Vec<Subject> = self.subjects().cloned().collect();
        for subject in subjects {
            report.applied += self.backfill_subject(&subject, None).await?.applied;
        }
        Ok(report)
    }

    /// Creates, updates or re-enables the mirror's subscriptions.
    pub(crate) async fn reconcile(&self) -> Result<tripletex_webhooks_client::ReconcileReport> {
        let config = self.config();
        let mut desired = Vec::new();
        for subject in &config.subjects {
            for verb in [Verb::Create, Verb::Update, Verb::Delete] {
                let mut new = NewSubscription::new(
                    EventType::new(subject.subject.clone(), verb),
                    config.target_url.clone(),
                )
                .with_fields(subject.fields.clone());
                if let Some((name, value)) = &config.auth_header {
                    new = new.with_auth_header(name.clone(), value.expose_secret().to_owned());
                }
                if let Some(secret) = &config.hmac_secret {
                    new = new.with_hmac_secret(secret.expose_secret().to_owned());
                }
                desired.push(new);
            }
        }
        config
            .client
            .subscriptions()
            .reconcile(desired)
            .apply()
            .await
            .map_err(MirrorError::api("reconciling the subscriptions"))
    }

    /// Backfills one subject, at most `max_pages` pages in this call (`None`:
    /// to the end). Each page is applied, then the progress is committed, so
    /// the next call continues after it: the pages already committed come
    /// back `304 Not Modified` without objects while they did not change.
    /// A complete backfill is not run again (use [`Mirror::resync`]).
    pub async fn backfill_subject(
        &self,
        subject: &Subject,
        max_pages: Option<usize>,
    ) -> Result<BackfillReport> {
        let config = self
            .subject_config(subject)
            .ok_or_else(|| MirrorError::Config(format!("{subject} is not mirrored")))?;
        let store = self.store();
        let name = subject.as_str();
        let mut mark = store.backfill(name).await?.unwrap_or(BackfillMark {
            state: String::new(),
            pages: 0,
            objects: 0,
            done: false,
        });
        let mut report = BackfillReport::default();
        if mark.done {
            report.done = true;
            return Ok(report);
        }
        let resume: SyncState = if mark.state.is_empty() {
            SyncState::default()
        } else {
            serde_json::from_str(&mark.state).map_err(|source| MirrorError::Data {
                context: format!("the saved backfill state of {subject}"),
                source,
            })?
        };
        let mut run = Run {
            started: tokio::time::Instant::now(),
            objects: 0,
            total: None,
        };
        let mut pages = self.sync_of(config).resume(resume).pages();
        loop {
            if max_pages.is_some_and(|max| report.pages >= max) {
                return Ok(report);
            }
            let Some(page) = pages
                .try_next()
                .await
                .map_err(MirrorError::api(format!("syncing {subject}")))?
            else {
                break;
            };
            report.pages += 1;
            run.total = page.full_result_size.or(run.total);
            match &page.values {
                None => report.unchanged_pages += 1,
                Some(values) => {
                    report.applied += store.apply_objects(name, values, Source::Sync).await?.len();
                    let received = i64::try_from(values.len()).unwrap_or(i64::MAX);
                    mark.objects += received;
                    run.objects += received;
                    mark.pages += 1;
                }
            }
            mark.done = page.next_from.is_none();
            mark.state =
                serde_json::to_string(&pages.state()).map_err(|source| MirrorError::Data {
                    context: format!("the backfill state of {subject}"),
                    source,
                })?;
            store.save_backfill(name, &mark).await?;
            self.deliver_changes().await?;
            self.report_progress(name, &mark, &report, &run);
        }
        mark.done = true;
        store.save_backfill(name, &mark).await?;
        report.done = true;
        Ok(report)
    }

    pub(crate) fn sync_of(
        &self,
        config: &SubjectConfig,
    ) -> tripletex_webhooks_client::ObjectSync<Value> {
        self.config()
            .client
            .sync::<Value>(config.path)
            .fields(config.fields.clone())
            .page_size(self.config().page_size)
    }

    fn report_progress(
        &self,
        subject: &str,
        mark: &BackfillMark,
        report: &BackfillReport,
        run: &Run,
    ) {
        let elapsed = run.started.elapsed();
        let estimate = Forecast::new(run.objects, elapsed, mark.objects, run.total, mark.done);
        let progress = Progress {
            subject: subject.to_owned(),
            pages: mark.pages,
            objects: mark.objects,
            unchanged_pages: i64::try_from(report.unchanged_pages).unwrap_or(i64::MAX),
            elapsed,
            objects_per_second: estimate.objects_per_second,
            total: run.total,
            remaining: estimate.remaining,
            estimate: estimate.estimate,
            done: mark.done,
        };
        tracing::info!(
            subject,
            pages = progress.pages,
            objects = progress.objects,
            objects_per_second = progress.objects_per_second,
            total = progress.total,
            remaining = progress.remaining,
            estimate_seconds = progress.estimate.map(|e| e.as_secs_f64()),
            estimate = %progress.estimate.map_or_else(|| "unknown".to_owned(), |e| format!("{e:.1?}")),
            done = progress.done,
            "mirror backfill progress"
        );
        if let Some(on_progress) = &self.config().on_progress {
            on_progress(&progress);
        }
    }
}

/// One backfill call's own counts, for its rate and estimate.
struct Run {
    started: tokio::time::Instant,
    /// Objects received in this call.
    objects: i64,
    /// The list's size, from the latest changed page.
    total: Option<i64>,
}
