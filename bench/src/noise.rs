//! Probes of this machine's noise, run beside the latency measurements.
//!
//! Two plain threads: one asks to sleep 1 ms at a time and records how late
//! it wakes up (the cores taken by something else: another job, or the host
//! under a virtual machine); one writes 4 KiB and `fdatasync`s it every
//! 20 ms in the temporary directory, where the benchmarks' databases live,
//! and records how long the sync took (a disk that stalls: SQLite's
//! checkpoints wait for it, and every write waits for them). A p99 latency
//! measured while either misbehaves tells about the machine, not the code,
//! so parts whose target is a latency (or a ratio of two) report the probes'
//! figures and call their verdict inconclusive above [`NOISY_WAKE_P99`] or
//! [`NOISY_SYNC_MAX`].

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::report::{Row, Verdict};
use crate::stats::{Latencies, ms};

/// The wake-up lateness (p99) above which a latency verdict is inconclusive.
pub(crate) const NOISY_WAKE_P99: Duration = Duration::from_millis(2);
/// The longest disk sync above which a latency verdict is inconclusive: one
/// stall as long as the delivery target (25 ms) can carry a p99 over it alone.
pub(crate) const NOISY_SYNC_MAX: Duration = Duration::from_millis(25);

const WAKE_PERIOD: Duration = Duration::from_millis(1);
const SYNC_PERIOD: Duration = Duration::from_millis(20);

/// The running probes; [`stop`](Self::stop) them to read what they saw.
pub(crate) struct NoiseProbe {
    stop: Arc<AtomicBool>,
    wake: JoinHandle<Latencies>,
    sync: JoinHandle<Latencies>,
}

impl NoiseProbe {
    pub(crate) fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let wake = std::thread::spawn(move || {
            let mut lateness = Latencies::new();
            while !flag.load(Ordering::Relaxed) {
                let asked = Instant::now();
                std::thread::sleep(WAKE_PERIOD);
                lateness.record(asked.elapsed().saturating_sub(WAKE_PERIOD));
            }
            lateness
        });
        let flag = Arc::clone(&stop);
        let sync = std::thread::spawn(move || {
            let mut syncs = Latencies::new();
            let Ok(mut file) = tempfile::tempfile() else {
                return syncs;
            };
            let block = [0_u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                if file
                    .write_all(&block)
                    .and_then(|()| file.sync_data())
                    .is_err()
                {
                    break;
                }
                syncs.record(started.elapsed());
                std::thread::sleep(SYNC_PERIOD);
            }
            syncs
        });
        Self { stop, wake, sync }
    }

    /// Stops the probes: how late the wake-ups were, how long the syncs took.
    pub(crate) fn stop(self) -> Noise {
        self.stop.store(true, Ordering::Relaxed);
        Noise {
            wake: self.wake.join().unwrap_or_default(),
            sync: self.sync.join().unwrap_or_default(),
        }
    }
}

/// What the probes measured.
pub(crate) struct Noise {
    wake: Latencies,
    sync: Latencies,
}

impl Noise {
    /// Whether latencies measured meanwhile say more about the machine.
    pub(crate) fn is_noisy(&self) -> bool {
        self.wake.p99() > NOISY_WAKE_P99 || self.sync.quantile(1.0) > NOISY_SYNC_MAX
    }

    /// `verdict`, unless the machine was too noisy to tell.
    pub(crate) fn judge(&self, verdict: Verdict) -> Verdict {
        if self.is_noisy() {
            Verdict::Inconclusive
        } else {
            verdict
        }
    }

    /// A table row with the probes' figures, for `part`, measured `during`.
    pub(crate) fn row(&self, part: &'static str, during: &str) -> Row {
        Row::info(
            part,
            format!(
                "machine noise during {during}: lateness of a 1 ms sleep p50 / p99, and a 4 KiB \
                 fdatasync p50 / max (latency verdicts are inconclusive above a p99 of {} or a \
                 max of {})",
                ms(NOISY_WAKE_P99),
                ms(NOISY_SYNC_MAX)
            ),
            format!(
                "{} / {}; {} / {}{}",
                ms(self.wake.p50()),
                ms(self.wake.p99()),
                ms(self.sync.p50()),
                ms(self.sync.quantile(1.0)),
                if self.is_noisy() {
                    " (**noisy**)"
                } else {
                    " (quiet)"
                }
            ),
        )
    }
}
