//! Backfill progress, reported after each committed page.

use std::time::Duration;

/// Where a subject's backfill is, after a committed page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// The subject, such as `product`.
    pub subject: String,
    /// Pages committed so far (across restarts).
    pub pages: i64,
    /// Objects seen in them.
    pub objects: i64,
    /// Pages of this run that had not changed since the saved state (skipped).
    pub unchanged_pages: i64,
    /// Time spent in this run.
    pub elapsed: Duration,
    /// Objects per second in this run.
    pub objects_per_second: f64,
    /// Whether the subject's backfill is complete.
    pub done: bool,
}
