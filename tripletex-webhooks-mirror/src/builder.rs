//! [`MirrorBuilder`]: what to mirror, where the webhooks arrive, the store.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tripletex_webhooks_client::Client;
use tripletex_webhooks_client::sync::object_path;
use tripletex_webhooks_types::Subject;

use crate::change::Change;
use crate::error::{MirrorError, Result};
use crate::mirror::{Config, Mirror, OnChange, OnProgress, SubjectConfig};
use crate::progress::Progress;
use crate::store::{Clock, Store};

/// The default wait after subscribing, before the backfill.
pub const DEFAULT_PROPAGATION: Duration = Duration::from_secs(3);
/// The default `fields` of a subject.
pub const DEFAULT_FIELDS: &str = "*";
/// The default store: a SQLite file in the working directory.
pub const DEFAULT_STORE_URL: &str = "sqlite://tripletex-mirror.db";
/// The default sync page size.
pub const DEFAULT_PAGE_SIZE: i64 = 1000;

/// Builds a [`Mirror`]; from [`Mirror::builder`].
#[must_use]
pub struct MirrorBuilder {
    client: Option<Client>,
    subjects: Vec<(Subject, String)>,
    target_url: Option<String>,
    auth_header: Option<(String, SecretString)>,
    hmac_secret: Option<SecretString>,
    store_url: String,
    propagation: Duration,
    page_size: i64,
    on_change: Option<OnChange>,
    on_progress: Option<OnProgress>,
    clock: Option<Clock>,
}

impl std::fmt::Debug for MirrorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorBuilder")
            .field("subjects", &self.subjects)
            .field("target_url", &self.target_url)
            .field("store_url", &"..")
            .finish_non_exhaustive()
    }
}

impl MirrorBuilder {
    pub(crate) fn new() -> Self {
        Self {
            client: None,
            subjects: Vec::new(),
            target_url: None,
            auth_header: None,
            hmac_secret: None,
            store_url: DEFAULT_STORE_URL.to_owned(),
            propagation: DEFAULT_PROPAGATION,
            page_size: DEFAULT_PAGE_SIZE,
            on_change: None,
            on_progress: None,
            clock: None,
        }
    }

    /// The Tripletex client (required).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Mirrors a subject with a `fields` filter, which must keep `id` and
    /// `version` (`*` does). Repeat for each subject.
    pub fn subject(mut self, subject: Subject, fields: impl Into<String>) -> Self {
        self.subjects.push((subject, fields.into()));
        self
    }

    /// The public URL of the app's receiver, where [`Mirror::webhooks`] is
    /// mounted (required); its path is the route of the webhook service.
    pub fn target_url(mut self, url: impl Into<String>) -> Self {
        self.target_url = Some(url.into());
        self
    }

    /// The header Tripletex authenticates each callback with.
    pub fn auth_header(mut self, name: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.auth_header = Some((name.into(), value.into()));
        self
    }

    /// The HMAC secret Tripletex signs each callback with.
    pub fn hmac_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.hmac_secret = Some(secret.into());
        self
    }

    /// The store: `sqlite://file.db` (default [`DEFAULT_STORE_URL`]) or `postgres://...`.
    pub fn store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = url.into();
        self
    }

    /// The wait after subscribing, for the subscriptions to propagate
    /// (default [`DEFAULT_PROPAGATION`]).
    pub fn propagation(mut self, wait: Duration) -> Self {
        self.propagation = wait;
        self
    }

    /// Objects per sync page (default [`DEFAULT_PAGE_SIZE`]).
    pub fn page_size(mut self, page_size: i64) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Called with each applied change after it is committed, in feed order;
    /// a change is marked delivered after the call returns (so a crash before
    /// that delivers it again: at least once).
    pub fn on_change(mut self, on_change: impl Fn(&Change) + Send + Sync + 'static) -> Self {
        self.on_change = Some(Arc::new(on_change));
        self
    }

    /// Called after each committed backfill page.
    pub fn on_progress(mut self, on_progress: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(on_progress));
        self
    }

    /// The wall clock for `updated_at` columns, in milliseconds since the
    /// Unix epoch (default: the system clock).
    pub fn clock(mut self, now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Checks the configuration and opens the store.
    pub async fn build(self) -> Result<Mirror> {
        let client = self
            .client
            .ok_or_else(|| MirrorError::Config("no client".into()))?;
        let target_url = self
            .target_url
            .ok_or_else(|| MirrorError::Config("no target URL".into()))?;
        let parsed = url::Url::parse(&target_url)
            .map_err(|e| MirrorError::Config(format!("the target URL is invalid: {e}")))?;
        if self.subjects.is_empty() {
            return Err(MirrorError::Config("no subject to mirror".into()));
        }
        let mut subjects = Vec::new();
        for (subject, fields) in self.subjects {
            let Some(path) = object_path(&subject) else {
                return Err(MirrorError::Config(format!(
                    "{subject} has no list endpoint to sync"
                )));
            };
            if !keeps_id_and_version(&fields) {
                return Err(MirrorError::Config(format!(
                    "the fields of {subject} must keep `id` and `version`"
                )));
            }
            subjects.push(SubjectConfig {
                subject,
                path,
                fields,
            });
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(system_millis));
        let store = Store::open(&self.store_url, clock).await?;
        Ok(Mirror::from_config(Config {
            client,
            subjects,
            route: parsed.path().to_owned(),
            target_url,
            auth_header: self.auth_header,
            hmac_secret: self.hmac_secret,
            propagation: self.propagation,
            page_size: self.page_size,
            on_change: self.on_change,
            on_progress: self.on_progress,
            store,
        }))
    }
}

fn keeps_id_and_version(fields: &str) -> bool {
    let top: Vec<&str> = top_level(fields);
    top.contains(&"*") || (top.contains(&"id") && top.contains(&"version"))
}

/// The comma-separated names outside parentheses.
fn top_level(fields: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0_usize, 0);
    for (i, c) in fields.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    names.push(fields[start..i].trim());
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                names.push(fields[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if c == ')' && depth == 0 {
            start = i + 1;
        }
    }
    names.push(fields[start..].trim());
    names
}

fn system_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::keeps_id_and_version;

    #[test]
    fn fields_must_keep_id_and_version() {
        assert!(keeps_id_and_version("*"));
        assert!(keeps_id_and_version("id,version,name"));
        assert!(keeps_id_and_version("id, currency(id,version), version"));
        assert!(!keeps_id_and_version("id,name"));
        assert!(!keeps_id_and_version("id,currency(version)"));
    }
}
