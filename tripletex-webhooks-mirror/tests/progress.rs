//! Backfill progress: pages, objects, the rate and the estimate, through the
//! callback and as `tracing` events, including a resumed backfill whose
//! total is unknown until a changed page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Tripletex, app_listener, builder};
use tripletex_webhooks_mirror::Progress;
use tripletex_webhooks_types::Subject;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Captures this thread's log lines until the guard is dropped.
    fn logs() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

type Seen = Arc<Mutex<Vec<Progress>>>;

/// Held by each test for its whole run. A callsite first hit on another
/// thread while a thread-scoped subscriber is being set can miss that
/// subscriber (tracing caches callsite interest globally), so the tests that
/// capture events never overlap.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn collect(seen: &Seen) -> impl Fn(&Progress) + Send + Sync + 'static {
    let seen = Arc::clone(seen);
    move |progress| seen.lock().unwrap().push(progress.clone())
}

#[tokio::test]
async fn each_page_reports_objects_rate_remaining_and_an_estimate() {
    let _one = ONE_AT_A_TIME.lock().await;
    let t = Tripletex::start().await;
    for n in 0..10 {
        t.create(&format!("product {n}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = app_listener().await;
    let seen = Seen::default();
    let mirror = builder(&t, dir.path(), &url)
        .on_progress(collect(&seen))
        .build()
        .await
        .unwrap();
    let (capture, _guard) = Capture::logs();
    mirror
        .backfill_subject(&Subject::Product, None)
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    let counts: Vec<_> = seen
        .iter()
        .map(|p| (p.pages, p.objects, p.total, p.remaining, p.done))
        .collect();
    assert_eq!(
        counts,
        [
            (1, 3, Some(10), Some(7), false),
            (2, 6, Some(10), Some(4), false),
            (3, 9, Some(10), Some(1), false),
            (4, 10, Some(10), Some(0), true),
        ]
    );
    for progress in &seen[..3] {
        assert!(progress.objects_per_second > 0.0, "{progress:?}");
        let left = progress.remaining.unwrap();
        #[allow(clippy::cast_precision_loss)]
        let expected = Duration::from_secs_f64(left as f64 / progress.objects_per_second);
        let estimate = progress.estimate.unwrap();
        assert!(
            estimate.abs_diff(expected) < Duration::from_millis(1),
            "{progress:?}"
        );
    }
    assert_eq!(seen[3].estimate, Some(Duration::ZERO));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let events: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("mirror backfill progress"))
        .collect();
    assert_eq!(events.len(), 4, "{logs}");
    assert!(
        events[0].contains("objects=3")
            && events[0].contains("total=10")
            && events[0].contains("remaining=7"),
        "{}",
        events[0]
    );
    assert!(
        events[3].contains("done=true") && events[3].contains("estimate_seconds=0.0"),
        "{}",
        events[3]
    );
}

#[tokio::test]
async fn a_resumed_backfill_says_unknown_until_a_changed_page_gives_the_total() {
    let _one = ONE_AT_A_TIME.lock().await;
    let t = Tripletex::start().await;
    for n in 0..7 {
        t.create(&format!("product {n}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_listener, url) = app_listener().await;
    let first = builder(&t, dir.path(), &url).build().await.unwrap();
    first
        .backfill_subject(&Subject::Product, Some(2))
        .await
        .unwrap();
    drop(first);

    let seen = Seen::default();
    let second = builder(&t, dir.path(), &url)
        .on_progress(collect(&seen))
        .build()
        .await
        .unwrap();
    let (capture, _guard) = Capture::logs();
    second
        .backfill_subject(&Subject::Product, None)
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    // The two committed pages come back unchanged: no total yet.
    for skipped in &seen[..2] {
        assert_eq!(
            (
                skipped.objects,
                skipped.total,
                skipped.remaining,
                skipped.estimate
            ),
            (6, None, None, None),
            "{skipped:?}"
        );
    }
    let last = seen.last().unwrap();
    assert_eq!(
        (last.objects, last.total, last.remaining, last.done),
        (7, Some(7), Some(0), true)
    );
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let first_event = logs
        .lines()
        .find(|l| l.contains("mirror backfill progress"))
        .unwrap();
    assert!(first_event.contains("estimate=unknown"), "{first_event}");
}
