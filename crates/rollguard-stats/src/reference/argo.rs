//! Argo Rollouts style analysis: a threshold on each measurement and a limit
//! on failed measurements.
//!
//! Semantics of an `AnalysisTemplate` metric with `interval`,
//! `successCondition: result <= max_value` and `failureLimit`, run as
//! background analysis with unlimited `count`: every `interval` one
//! measurement is taken (here: the interval's canary bad rate, or a latency
//! quantile); it is `Failed` when the value exceeds `max_value`; a
//! measurement without data is `Inconclusive` and does not count as failed;
//! the analysis fails once the number of failed measurements exceeds
//! `failureLimit`. Background analysis never succeeds on its own, so this
//! judge never returns `Pass`.

use super::{IntervalClock, IntervalData, MetricWindow, ReferenceJudge};
use crate::count_test::Decision;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArgoConfig {
    pub interval_ms: u64,
    pub failure_limit: u32,
    /// Largest value a measurement may have (bad rate as a fraction, or ms).
    pub max_value: f64,
    /// Quantile measured for latency metrics (e.g. 0.99).
    pub latency_quantile: f64,
}

#[derive(Debug, Clone)]
pub struct ArgoJudge {
    cfg: ArgoConfig,
    clock: IntervalClock,
    data: IntervalData,
    failed: u32,
    inconclusive: u32,
    measurements: u32,
    decided: Option<Decision>,
}

impl ArgoJudge {
    pub fn new(cfg: ArgoConfig) -> Self {
        Self {
            cfg,
            clock: IntervalClock::new(cfg.interval_ms),
            data: IntervalData::default(),
            failed: 0,
            inconclusive: 0,
            measurements: 0,
            decided: None,
        }
    }

    /// `(measurements, failed, inconclusive)` so far.
    pub fn measurements(&self) -> (u32, u32, u32) {
        (self.measurements, self.failed, self.inconclusive)
    }
}

impl ReferenceJudge for ArgoJudge {
    fn name(&self) -> &'static str {
        "argo"
    }

    fn observe(&mut self, at_ms: u64, window: MetricWindow<'_>) -> Decision {
        if let Some(d) = self.decided {
            return d;
        }
        self.data.add(window);
        if !self.clock.closes(at_ms) {
            return Decision::Continue;
        }
        self.measurements += 1;
        match self.data.canary_value(self.cfg.latency_quantile) {
            None => self.inconclusive += 1,
            Some(v) if v > self.cfg.max_value => self.failed += 1,
            Some(_) => {}
        }
        self.data.clear();
        if self.failed > self.cfg.failure_limit {
            self.decided = Some(Decision::Fail);
            return Decision::Fail;
        }
        Decision::Continue
    }
}
