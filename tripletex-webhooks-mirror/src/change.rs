//! What the change feed tells the app.

use std::fmt;

/// Where an applied change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A webhook delivery.
    Webhook,
    /// A backfill or a resync page.
    Sync,
}

impl Source {
    /// The name stored in the `source` columns: `webhook` or `sync`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Sync => "sync",
        }
    }

    pub(crate) fn from_stored(raw: &str) -> Self {
        if raw == "webhook" {
            Self::Webhook
        } else {
            Self::Sync
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One applied (committed) change of an object: a row of `mirror_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// Its position in the feed: increasing, in commit order.
    pub seq: i64,
    /// The subject, such as `product`.
    pub subject: String,
    /// The object's id.
    pub id: i64,
    /// The version stored before, `None` for an object new to the mirror.
    pub old_version: Option<i64>,
    /// The version stored now (for a delete: the last known version).
    pub new_version: i64,
    /// Whether the change is a delete (the object is now a tombstone).
    pub deleted: bool,
    /// Where it came from.
    pub source: Source,
}
