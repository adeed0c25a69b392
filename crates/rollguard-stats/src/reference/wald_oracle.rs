//! The Wald oracle: a one-sided SPRT on the canary's stream alone that knows
//! the healthy and the regressed rate. It is not a usable judge (nobody knows
//! `p1`), it is the yardstick: its expected sample size under `p1` is Wald's
//! bound `ln(1/alpha) / KL(p1 || p0)` plus overshoot.
//!
//! Each canary request is a Bernoulli trial ("bad" or not); the log
//! likelihood ratio `Σ k ln(p1/p0) + (n-k) ln((1-p1)/(1-p0))` is compared
//! with `ln(1/alpha)` and the judge fails when it reaches it (Ville:
//! false-fail probability ≤ alpha under `p0`). There is no lower boundary
//! (an open-ended, power-one SPRT), so it never passes. For latency windows
//! a request is "bad" when it is slower than the upper bound of bucket
//! `latency_bucket`, and `p0`, `p1` are the exceedance probabilities above
//! that bound for the healthy and the regressed latency distributions.

use super::{MetricWindow, ReferenceJudge};
use crate::count_test::Decision;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaldOracleConfig {
    pub p0: f64,
    pub p1: f64,
    pub alpha: f64,
    /// Bucket above which a request counts as bad (latency windows only).
    pub latency_bucket: usize,
}

#[derive(Debug, Clone)]
pub struct WaldOracle {
    cfg: WaldOracleConfig,
    ln_bad: f64,
    ln_good: f64,
    llr: f64,
    failed: bool,
}

impl WaldOracle {
    pub fn new(cfg: WaldOracleConfig) -> Self {
        Self {
            cfg,
            ln_bad: (cfg.p1 / cfg.p0).ln(),
            ln_good: ((1.0 - cfg.p1) / (1.0 - cfg.p0)).ln(),
            llr: 0.0,
            failed: false,
        }
    }

    /// The log likelihood ratio so far.
    pub fn log_likelihood_ratio(&self) -> f64 {
        self.llr
    }
}

impl ReferenceJudge for WaldOracle {
    fn name(&self) -> &'static str {
        "wald-oracle"
    }

    fn observe(&mut self, _at_ms: u64, window: MetricWindow<'_>) -> Decision {
        if self.failed {
            return Decision::Fail;
        }
        let (n, k) = match window {
            MetricWindow::Counts { canary, .. } => (canary.total, canary.bad.min(canary.total)),
            MetricWindow::Latency { canary, .. } => (
                canary.total(),
                canary.count_above_bucket(self.cfg.latency_bucket),
            ),
        };
        self.llr += k as f64 * self.ln_bad + (n - k) as f64 * self.ln_good;
        if self.llr >= (1.0 / self.cfg.alpha).ln() {
            self.failed = true;
            return Decision::Fail;
        }
        Decision::Continue
    }
}
