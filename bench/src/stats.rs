//! Latency percentiles (HdrHistogram) and number formatting.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies in microseconds, from 1 µs to 10 minutes, 3 significant digits.
#[derive(Clone)]
pub(crate) struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub(crate) fn new() -> Self {
        // Constant bounds that `new_with_bounds` accepts: it cannot fail.
        Self(Histogram::new_with_bounds(1, 600_000_000, 3).unwrap_or_else(|_| unreachable!()))
    }

    pub(crate) fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub(crate) fn len(&self) -> u64 {
        self.0.len()
    }

    /// The `q` quantile (0..=1).
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.0.value_at_quantile(q))
    }

    pub(crate) fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    pub(crate) fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

/// A latency comparison run as paired rounds (baseline, then the condition
/// under test, back to back): each round's p99 ratio, and everything pooled.
///
/// The verdict goes by the median round: one stall of a shared machine in
/// one run moves a pooled p99 (at 1,000 events/s, 100 ms of stall is 100
/// samples, a whole percentile of a 10-second run) far more than it moves the
/// median of five ratios. The receiver part judges its ratio the same way.
#[derive(Default)]
pub(crate) struct PairedRounds {
    /// Every baseline round, pooled.
    pub(crate) baseline: Latencies,
    /// Every round under test, pooled.
    pub(crate) tested: Latencies,
    ratios: Vec<f64>,
}

impl PairedRounds {
    /// Adds one round of each.
    pub(crate) fn add(&mut self, baseline: &Latencies, tested: &Latencies) {
        self.ratios
            .push(tested.p99().as_secs_f64() / baseline.p99().as_secs_f64().max(1e-9));
        self.baseline.merge(baseline);
        self.tested.merge(tested);
    }

    /// The median round's p99 change (`0.05` is +5%; with an even number of
    /// rounds, the mean of the middle two).
    pub(crate) fn median_change(&self) -> f64 {
        let mut ratios = self.ratios.clone();
        ratios.sort_by(f64::total_cmp);
        let middle = ratios.len() / 2;
        let median = match (ratios.len() % 2, ratios.get(middle)) {
            (_, None) => 1.0,
            (1, Some(ratio)) => *ratio,
            (_, Some(upper)) => (ratios[middle - 1] + upper) / 2.0,
        };
        median - 1.0
    }

    /// The change of the pooled p99s.
    pub(crate) fn pooled_change(&self) -> f64 {
        self.tested.p99().as_secs_f64() / self.baseline.p99().as_secs_f64().max(1e-9) - 1.0
    }

    /// The table's result: the median change in bold, then the rounds' range
    /// and the pooled change.
    pub(crate) fn describe(&self) -> String {
        let (lowest, highest) = self
            .ratios
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(*r), hi.max(*r))
            });
        format!(
            "**{:+.1}%** (median of {} rounds, each a pair back to back: {:+.1}% to {:+.1}%; pooled {:+.1}%)",
            self.median_change() * 100.0,
            self.ratios.len(),
            (lowest - 1.0) * 100.0,
            (highest - 1.0) * 100.0,
            self.pooled_change() * 100.0
        )
    }
}

/// `1234.5` as `1,235`.
pub(crate) fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < -0.5 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A duration in milliseconds with two decimals.
pub(crate) fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Events per second.
pub(crate) fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        to_f64(count) / secs
    } else {
        0.0
    }
}

/// A count as a float, for rates (exact below 2^53).
#[allow(
    clippy::cast_precision_loss,
    reason = "counts in these benchmarks stay far below 2^53"
)]
pub(crate) fn to_f64(count: u64) -> f64 {
    count as f64
}

/// A count of `usize` as `u64` (lossless on every supported platform).
pub(crate) fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234.4), "1,234");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(-12_345.0), "-12,345");
    }

    #[test]
    fn percentiles_come_from_what_was_recorded() {
        let mut latencies = Latencies::new();
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.len(), 100);
        let p99 = latencies.p99().as_secs_f64();
        assert!((0.098..0.1005).contains(&p99), "{p99}");
        let p50 = latencies.p50().as_secs_f64();
        assert!((0.049..0.0505).contains(&p50), "{p50}");
    }

    /// 99 samples of 1 ms and `slow` of `p99_ms`.
    fn latencies(p99_ms: u64, slow: usize) -> Latencies {
        let mut latencies = Latencies::new();
        for _ in 0..99 {
            latencies.record(Duration::from_millis(1));
        }
        for _ in 0..slow {
            latencies.record(Duration::from_millis(p99_ms));
        }
        latencies
    }

    #[test]
    fn paired_rounds_judge_by_the_median_round() {
        let mut rounds = PairedRounds::default();
        rounds.add(&latencies(10, 2), &latencies(10, 2));
        rounds.add(&latencies(10, 2), &latencies(11, 2));
        // One stall in one run: the pooled p99 follows it, the median does not.
        rounds.add(&latencies(10, 2), &latencies(90, 10));
        assert!(
            (rounds.median_change() - 0.1).abs() < 0.01,
            "{}",
            rounds.median_change()
        );
        assert!(rounds.pooled_change() > 0.5, "{}", rounds.pooled_change());
        assert!(
            rounds
                .describe()
                .starts_with("**+10.0%** (median of 3 rounds")
        );
        // An even number of rounds: the middle two's mean.
        rounds.add(&latencies(10, 2), &latencies(13, 2));
        assert!(
            (rounds.median_change() - 0.2).abs() < 0.01,
            "{}",
            rounds.median_change()
        );
        assert!(PairedRounds::default().median_change().abs() < f64::EPSILON);
    }
}
