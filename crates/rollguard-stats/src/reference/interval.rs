//! Interval bookkeeping shared by the reference judges: which windows belong
//! to which interval, and the merged data of one interval.

use super::MetricWindow;
use crate::counts::Counts;
use crate::histogram::LatencyHistogram;

/// Tells when an interval of fixed length has ended.
#[derive(Debug, Clone)]
pub struct IntervalClock {
    interval_ms: u64,
    next_end: u64,
}

impl IntervalClock {
    /// A zero length is treated as 1 ms (every window closes an interval).
    pub fn new(interval_ms: u64) -> Self {
        let interval_ms = interval_ms.max(1);
        Self {
            interval_ms,
            next_end: interval_ms,
        }
    }

    /// True when the window ending at `at_ms` closes the current interval.
    pub fn closes(&mut self, at_ms: u64) -> bool {
        if at_ms < self.next_end {
            return false;
        }
        let behind = (at_ms - self.next_end) / self.interval_ms + 1;
        self.next_end = self.next_end.saturating_add(behind * self.interval_ms);
        true
    }
}

/// The merged windows of one interval (or one metric point).
#[derive(Debug, Clone, Default)]
pub struct IntervalData {
    pub baseline: Counts,
    pub canary: Counts,
    baseline_hist: Option<LatencyHistogram>,
    canary_hist: Option<LatencyHistogram>,
}

impl IntervalData {
    pub fn add(&mut self, window: MetricWindow<'_>) {
        match window {
            MetricWindow::Counts { baseline, canary } => {
                self.baseline.add(baseline);
                self.canary.add(canary);
            }
            MetricWindow::Latency { baseline, canary } => {
                self.baseline_hist
                    .get_or_insert_with(LatencyHistogram::new)
                    .merge(baseline);
                self.canary_hist
                    .get_or_insert_with(LatencyHistogram::new)
                    .merge(canary);
            }
        }
    }

    /// The canary's value: latency quantile `q` in ms if latency windows were
    /// seen, else its bad rate. `None` when it served nothing.
    pub fn canary_value(&self, q: f64) -> Option<f64> {
        value(&self.canary_hist, self.canary, q)
    }

    pub fn baseline_value(&self, q: f64) -> Option<f64> {
        value(&self.baseline_hist, self.baseline, q)
    }

    pub fn clear(&mut self) {
        self.baseline = Counts::default();
        self.canary = Counts::default();
        self.baseline_hist = None;
        self.canary_hist = None;
    }
}

fn value(hist: &Option<LatencyHistogram>, counts: Counts, q: f64) -> Option<f64> {
    match hist {
        Some(h) => h.quantile_ms(q),
        None => counts.rate(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_closes_on_boundaries_and_skips_gaps() {
        let mut c = IntervalClock::new(60_000);
        assert!(!c.closes(1_000));
        assert!(!c.closes(59_999));
        assert!(c.closes(60_000));
        assert!(!c.closes(61_000));
        assert!(c.closes(200_000)); // gap: one interval judged, not three
        assert!(!c.closes(239_999));
        assert!(c.closes(240_000));
    }
}
