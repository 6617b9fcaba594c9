//! Backfill progress, reported after each committed page, with an estimate
//! of what remains.

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
    /// Objects received per second in this run.
    pub objects_per_second: f64,
    /// The size of the whole list (`fullResultSize` of the latest changed
    /// page), `None` while unknown (only unchanged pages so far).
    pub total: Option<i64>,
    /// Objects left to fetch, `None` while the total is unknown.
    pub remaining: Option<i64>,
    /// The time left at this run's rate, `None` while the total or the
    /// rate is unknown.
    pub estimate: Option<Duration>,
    /// Whether the subject's backfill is complete.
    pub done: bool,
}

/// The rate and what remains, from one run's counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Forecast {
    pub(crate) objects_per_second: f64,
    pub(crate) remaining: Option<i64>,
    pub(crate) estimate: Option<Duration>,
}

impl Forecast {
    /// `run_objects` received in `elapsed`; `objects` of `total` done.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn new(
        run_objects: i64,
        elapsed: Duration,
        objects: i64,
        total: Option<i64>,
        done: bool,
    ) -> Self {
        let seconds = elapsed.as_secs_f64();
        let objects_per_second = if seconds > 0.0 {
            run_objects as f64 / seconds
        } else {
            0.0
        };
        let remaining = if done {
            Some(0)
        } else {
            total.map(|total| total.saturating_sub(objects).max(0))
        };
        let estimate = remaining.and_then(|left| match left {
            0 => Some(Duration::ZERO),
            _ if objects_per_second > 0.0 => {
                Duration::try_from_secs_f64(left as f64 / objects_per_second).ok()
            }
            _ => None,
        });
        Self {
            objects_per_second,
            remaining,
            estimate,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Forecast;

    #[test]
    fn the_estimate_is_what_remains_at_this_runs_rate() {
        let e = Forecast::new(500, Duration::from_secs(2), 1500, Some(4000), false);
        assert!((e.objects_per_second - 250.0).abs() < f64::EPSILON);
        assert_eq!(e.remaining, Some(2500));
        assert_eq!(e.estimate, Some(Duration::from_secs(10)));
    }

    #[test]
    fn without_a_total_or_a_rate_the_estimate_is_unknown() {
        let unknown_total = Forecast::new(500, Duration::from_secs(2), 1500, None, false);
        assert_eq!(
            (unknown_total.remaining, unknown_total.estimate),
            (None, None)
        );
        let no_rate = Forecast::new(0, Duration::from_secs(2), 1500, Some(4000), false);
        assert_eq!((no_rate.remaining, no_rate.estimate), (Some(2500), None));
        let no_time = Forecast::new(10, Duration::ZERO, 10, Some(20), false);
        assert!(no_time.objects_per_second.abs() < f64::EPSILON);
        assert_eq!(no_time.estimate, None);
    }

    #[test]
    fn a_finished_backfill_has_nothing_left_even_if_the_list_grew() {
        let done = Forecast::new(10, Duration::from_secs(1), 10, Some(12), true);
        assert_eq!(
            (done.remaining, done.estimate),
            (Some(0), Some(Duration::ZERO))
        );
        let ahead = Forecast::new(10, Duration::from_secs(1), 12, Some(10), false);
        assert_eq!(
            (ahead.remaining, ahead.estimate),
            (Some(0), Some(Duration::ZERO))
        );
    }
}
