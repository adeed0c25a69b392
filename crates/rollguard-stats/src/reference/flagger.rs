//! Flagger style canary analysis: a threshold range per check and a limit on
//! failed checks.
//!
//! Semantics of a Flagger `Canary` analysis with `interval`, `threshold` and
//! a metric with `thresholdRange.max`: every `interval` each metric is
//! checked; a check fails when the value is above `max`. A metric that
//! returns no value (the canary got no traffic) also fails the check: Flagger
//! halts advancement ("no values found") and counts it. Failed checks are
//! cumulative — a good check does not reset them — and the canary is rolled
//! back once `failedChecks >= threshold`. When `promote_after_checks` is set,
//! the judge passes after that many successful checks (Flagger promotes once
//! `maxWeight / stepWeight` successful iterations moved traffic to the top);
//! when unset it never passes on its own.

use super::{IntervalClock, IntervalData, MetricWindow, ReferenceJudge};
use crate::count_test::Decision;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlaggerConfig {
    pub interval_ms: u64,
    pub threshold: u32,
    pub max_value: f64,
    pub latency_quantile: f64,
    pub promote_after_checks: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct FlaggerJudge {
    cfg: FlaggerConfig,
    clock: IntervalClock,
    data: IntervalData,
    failed_checks: u32,
    good_checks: u32,
    decided: Option<Decision>,
}

impl FlaggerJudge {
    pub fn new(cfg: FlaggerConfig) -> Self {
        Self {
            cfg,
            clock: IntervalClock::new(cfg.interval_ms),
            data: IntervalData::default(),
            failed_checks: 0,
            good_checks: 0,
            decided: None,
        }
    }

    /// `(good checks, failed checks)` so far.
    pub fn checks(&self) -> (u32, u32) {
        (self.good_checks, self.failed_checks)
    }
}

impl ReferenceJudge for FlaggerJudge {
    fn name(&self) -> &'static str {
        "flagger"
    }

    fn observe(&mut self, at_ms: u64, window: MetricWindow<'_>) -> Decision {
        if let Some(d) = self.decided {
            return d;
        }
        self.data.add(window);
        if !self.clock.closes(at_ms) {
            return Decision::Continue;
        }
        match self.data.canary_value(self.cfg.latency_quantile) {
            Some(v) if v <= self.cfg.max_value => self.good_checks += 1,
            _ => self.failed_checks += 1,
        }
        self.data.clear();
        let verdict = if self.failed_checks >= self.cfg.threshold.max(1) {
            Decision::Fail
        } else if self
            .cfg
            .promote_after_checks
            .is_some_and(|n| self.good_checks >= n)
        {
            Decision::Pass
        } else {
            return Decision::Continue;
        };
        self.decided = Some(verdict);
        verdict
    }
}
