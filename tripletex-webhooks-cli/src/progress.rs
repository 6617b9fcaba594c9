//! A progress indicator for what takes more than a moment: on stderr, only
//! when stderr is a terminal (never in pipes, logs or `--json` runs), and
//! only once the operation has taken longer than [`SHOW_AFTER`] (a quick one
//! shows nothing).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long an operation runs before its progress is drawn.
pub(crate) const SHOW_AFTER: Duration = Duration::from_millis(300);

/// A spinner or a bar; hidden when progress is not shown. Cleared when dropped.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    reveal: Option<tokio::task::JoinHandle<()>>,
}

/// Whether progress is shown: stderr is a terminal and the output is not JSON.
pub(crate) fn enabled(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

impl Progress {
    /// A spinner with a message.
    pub(crate) fn spinner(shown: bool, message: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self::revealed(bar, shown)
    }

    /// A bar over `total` steps.
    pub(crate) fn bar(shown: bool, total: usize, message: &str) -> Self {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        Self::revealed(bar, shown)
    }

    /// Draws `bar` on stderr after [`SHOW_AFTER`], when shown (and when
    /// there is a tokio runtime to wait on).
    fn revealed(bar: ProgressBar, shown: bool) -> Self {
        let reveal = (shown && tokio::runtime::Handle::try_current().is_ok()).then(|| {
            let bar = bar.clone();
            tokio::spawn(async move {
                tokio::time::sleep(SHOW_AFTER).await;
                bar.set_draw_target(ProgressDrawTarget::stderr());
            })
        });
        Self { bar, reveal }
    }

    /// Changes the message.
    pub(crate) fn message(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }

    /// One step done.
    pub(crate) fn step(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(reveal) = self.reveal.take() {
            reveal.abort();
        }
        self.bar.finish_and_clear();
    }
}
