//! [`Mirror`]: the store, the subjects and the app's callbacks, with typed
//! reads and the change feed's delivery.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Mutex;
use tripletex_webhooks_client::Client;
use tripletex_webhooks_types::Subject;

use crate::builder::MirrorBuilder;
use crate::change::Change;
use crate::error::{MirrorError, Result};
use crate::model::Mirrored;
use crate::progress::Progress;
use crate::store::Store;

/// The app's change callback.
pub(crate) type OnChange = Arc<dyn Fn(&Change) + Send + Sync>;
/// The app's progress callback.
pub(crate) type OnProgress = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How many changes the feed delivers per read.
const FEED_BATCH: i64 = 256;

/// A local mirror of Tripletex objects. Cheap to clone.
#[derive(Clone)]
pub struct Mirror {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("target_url", &self.inner.config.target_url)
            .finish_non_exhaustive()
    }
}

pub(crate) struct SubjectConfig {
    pub(crate) subject: Subject,
    pub(crate) path: &'static str,
    pub(crate) fields: String,
}

pub(crate) struct Config {
    pub(crate) client: Client,
    pub(crate) subjects: Vec<SubjectConfig>,
    pub(crate) route: String,
    pub(crate) target_url: String,
    pub(crate) auth_header: Option<(String, SecretString)>,
    pub(crate) hmac_secret: Option<SecretString>,
    pub(crate) propagation: Duration,
    pub(crate) page_size: i64,
    pub(crate) on_change: Option<OnChange>,
    pub(crate) on_progress: Option<OnProgress>,
    pub(crate) store: Store,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    delivery: Mutex<()>,
}

impl Mirror {
    /// A [`MirrorBuilder`].
    pub fn builder() -> MirrorBuilder {
        MirrorBuilder::new()
    }

    pub(crate) fn from_config(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                delivery: Mutex::new(()),
            }),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store, to read rows or apply objects directly.
    pub fn store(&self) -> &Store {
        &self.inner.config.store
    }

    /// The subjects mirrored.
    pub fn subjects(&self) -> impl Iterator<Item = &Subject> {
        self.inner.config.subjects.iter().map(|s| &s.subject)
    }

    pub(crate) fn subject_config(&self, subject: &Subject) -> Option<&SubjectConfig> {
        self.inner
            .config
            .subjects
            .iter()
            .find(|s| &s.subject == subject)
    }

    /// The object `id` of `T`'s subject, `None` when unknown or deleted.
    pub async fn get<T: Mirrored>(&self, id: i64) -> Result<Option<T>> {
        let Some(object) = self.store().object(T::SUBJECT.as_str(), id).await? else {
            return Ok(None);
        };
        match object.data {
            Some(data) if !object.deleted => decode(data).map(Some),
            _ => Ok(None),
        }
    }

    /// Every live (not deleted) object of `T`'s subject, by id.
    pub async fn all<T: Mirrored>(&self) -> Result<Vec<T>> {
        let mut all = Vec::new();
        for object in self.store().objects(T::SUBJECT.as_str()).await? {
            if let (false, Some(data)) = (object.deleted, object.data) {
                all.push(decode(data)?);
            }
        }
        Ok(all)
    }

    /// The changes committed after feed position `seq` (0 for all), at most 1000.
    pub async fn changed_since(&self, seq: i64) -> Result<Vec<Change>> {
        self.store().changed_since(seq, 1000).await
    }

    /// Tells the app's `on_change` callback of every undelivered change, in
    /// feed order, marking each delivered after the callback returns. The
    /// mirror calls it after its own writes; call it at start-up to deliver
    /// what a crash left undelivered ([`Mirror::start`] does).
    pub async fn deliver_changes(&self) -> Result<usize> {
        let _one_at_a_time = self.inner.delivery.lock().await;
        let mut delivered = 0;
        loop {
            let batch = self.store().undelivered(FEED_BATCH).await?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            // Marked after the whole batch was handed over: a crash before
            // that hands it over again (at least once).
            for change in &batch {
                if let Some(on_change) = &self.inner.config.on_change {
                    on_change(change);
                }
            }
            let seqs: Vec<i64> = batch.iter().map(|c| c.seq).collect();
            self.store().mark_all_delivered(&seqs).await?;
            delivered += batch.len();
        }
    }
}

fn decode<T: Mirrored>(data: serde_json::Value) -> Result<T> {
    serde_json::from_value(data).map_err(|source| MirrorError::Data {
        context: format!("a stored {}", T::SUBJECT),
        source,
    })
}
