//! When the scheduled resync runs: every interval, or daily at a time of day.

use std::future::Future;
use std::time::Duration;

use time::{OffsetDateTime, Time, UtcOffset};

use crate::store::Clock;

/// When [`crate::Mirror::spawn_resync`] runs [`crate::Mirror::health`]
/// (re-enable disabled subscriptions, then resync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncSchedule {
    /// After each interval, counted from the end of the previous run (the
    /// first one interval after the spawn).
    Every(Duration),
    /// Every day at `time` in the fixed UTC `offset` (a time zone's daylight
    /// saving changes are not followed: give the offset in force), read
    /// from the mirror's clock ([`crate::MirrorBuilder::clock`]).
    DailyAt {
        /// The time of day.
        time: Time,
        /// The offset `time` is in, such as `UtcOffset::UTC` or `+01:00`.
        offset: UtcOffset,
    },
}

impl ResyncSchedule {
    /// Every day at `time` in UTC.
    pub fn daily_at_utc(time: Time) -> Self {
        Self::DailyAt {
            time,
            offset: UtcOffset::UTC,
        }
    }

    /// How long after `now_millis` (milliseconds since the Unix epoch) the
    /// next run is due; a daily run due exactly now is due tomorrow.
    pub fn delay_after(&self, now_millis: i64) -> Duration {
        match *self {
            Self::Every(interval) => interval,
            Self::DailyAt { time, offset } => {
                let now = from_millis(now_millis).to_offset(offset);
                let mut next = now.replace_time(time);
                if next <= now {
                    next += time::Duration::DAY;
                }
                Duration::try_from(next - now).unwrap_or(Duration::ZERO)
            }
        }
    }
}

fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Runs `job` on `schedule`, reading the time from `clock`, forever. A
/// daily run is never repeated for the same day, even when the clock reads
/// slightly earlier than the timer after waking.
pub(crate) async fn run<F, Fut>(schedule: ResyncSchedule, clock: Clock, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut due: Option<i64> = None;
    loop {
        let now = clock();
        let from = due.map_or(now, |due| now.max(due));
        let next = from.saturating_add(millis(schedule.delay_after(from)));
        due = Some(next);
        let wait = u64::try_from(next.saturating_sub(now)).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        job().await;
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use time::macros::{datetime, offset, time};

    use super::{ResyncSchedule, run};
    use crate::store::Clock;

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn millis(at: time::OffsetDateTime) -> i64 {
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
    }

    #[test]
    fn a_daily_time_is_due_later_today_or_tomorrow_in_its_offset() {
        let daily = ResyncSchedule::DailyAt {
            time: time!(03:00),
            offset: offset!(+1),
        };
        // 01:30 UTC is 02:30 at +01:00: due in 30 minutes.
        let now = millis(datetime!(2026-12-03 01:30 UTC));
        assert_eq!(daily.delay_after(now), 30 * MINUTE);
        // 02:00 UTC is 03:00 at +01:00: due now, so tomorrow.
        let now = millis(datetime!(2026-12-03 02:00 UTC));
        assert_eq!(daily.delay_after(now), 24 * HOUR);
        // 23:00 UTC is already tomorrow at +01:00, 00:00: due in three hours.
        let now = millis(datetime!(2026-12-03 23:00 UTC));
        assert_eq!(daily.delay_after(now), 3 * HOUR);
        let utc = ResyncSchedule::daily_at_utc(time!(03:00));
        assert_eq!(utc.delay_after(now), 4 * HOUR);
        assert_eq!(
            ResyncSchedule::Every(5 * MINUTE).delay_after(now),
            5 * MINUTE
        );
    }

    /// A clock that starts at `start` and follows tokio's (paused) time.
    fn paused_clock(start: i64) -> Clock {
        let origin = tokio::time::Instant::now();
        Arc::new(move || start + i64::try_from(origin.elapsed().as_millis()).unwrap())
    }

    /// The tokio times at which `schedule` ran its job, for `runs` runs.
    async fn run_times(schedule: ResyncSchedule, clock: Clock, runs: usize) -> Vec<Duration> {
        let origin = tokio::time::Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(schedule, clock, move || {
            let tx = tx.clone();
            async move {
                tx.send(origin.elapsed()).unwrap();
            }
        }));
        let mut times = Vec::new();
        while times.len() < runs {
            times.push(rx.recv().await.unwrap());
        }
        task.abort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn the_daily_run_happens_at_its_time_each_day() {
        let start = millis(datetime!(2026-12-03 01:30 UTC));
        let daily = ResyncSchedule::DailyAt {
            time: time!(03:00),
            offset: offset!(+1),
        };
        let times = run_times(daily, paused_clock(start), 3).await;
        assert_eq!(
            times,
            vec![
                30 * MINUTE,
                30 * MINUTE + 24 * HOUR,
                30 * MINUTE + 48 * HOUR
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_behind_the_timer_does_not_run_the_day_twice() {
        let start = millis(datetime!(2026-12-03 01:30 UTC));
        // The clock reads 5 ms behind tokio's timer once it has started.
        let origin = tokio::time::Instant::now();
        let clock: Clock = Arc::new(move || {
            let elapsed = i64::try_from(origin.elapsed().as_millis()).unwrap();
            start + elapsed - if elapsed > 0 { 5 } else { 0 }
        });
        let daily = ResyncSchedule::daily_at_utc(time!(02:00));
        let times = run_times(daily, clock, 2).await;
        assert_eq!(times[0], 30 * MINUTE);
        assert!(times[1] >= 30 * MINUTE + 24 * HOUR, "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_runs_after_each_interval() {
        let times = run_times(ResyncSchedule::Every(10 * MINUTE), paused_clock(0), 3).await;
        assert_eq!(times, vec![10 * MINUTE, 20 * MINUTE, 30 * MINUTE]);
    }
}
