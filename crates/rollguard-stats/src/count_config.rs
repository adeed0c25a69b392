//! Settings, verdicts and the serializable snapshot of the count test
//! ([`crate::count_test::CountTest`]).

use serde::{Deserialize, Serialize};

use crate::counts::Counts;

/// Settings of one [`crate::CountTest`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountTestConfig {
    /// Type-I error of the fail test (false rollback rate), in (0, 1).
    pub alpha: f64,
    /// Error of the pass criterion (promoting a canary beyond the margin).
    pub pass_alpha: f64,
    /// Tolerated relative increase of the bad rate (0.5 = 50% more).
    pub max_relative: f64,
    /// Tolerated absolute increase of the bad rate (0.001 = 0.1 points).
    pub max_absolute: f64,
    /// Where the fail mixture puts its weight (fixed before any data).
    #[serde(default)]
    pub effect_prior: EffectPrior,
}

/// Shape of the fail mixture's prior over rate ratios `r > 1` (see
/// [`crate::ratio_grid`]): a normal in `ln r` centred on `ln center_ratio`
/// with standard deviation `spread`, truncated to `r > 1`, holding
/// `1 - floor` of the mass; `floor` is spread evenly over every grid ratio
/// above 1. It must be chosen from the spec, never from observed counts:
/// only a fixed prior keeps the mixture an e-process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectPrior {
    /// Ratio the prior is centred on, > 1.
    pub center_ratio: f64,
    /// Standard deviation in `ln r`, > 0.
    pub spread: f64,
    /// Mass spread evenly over all ratios above 1, in (0, 1).
    pub floor: f64,
}

impl Default for EffectPrior {
    /// Error metrics: regressions of 1.5× to 10× hold most of the mass.
    fn default() -> Self {
        Self {
            center_ratio: 3.0,
            spread: 0.8,
            floor: 0.05,
        }
    }
}

impl EffectPrior {
    /// The prior for an exceedance metric whose baseline rate is about
    /// `1 - q` (requests slower than the baseline's `q`-quantile): the ratio
    /// cannot exceed `m = 1 / (1 - q)`, so the prior is centred on
    /// `m^(1/4)` (1.19 at the median, 3.2 at p99, never below 1.15) with
    /// spread `max(0.25, ln(m) / 6)` in `ln r`.
    pub fn for_quantile(q: f64) -> Self {
        if !(q > 0.0 && q < 1.0) {
            return Self::default();
        }
        let ln_m = -(-q).ln_1p();
        Self {
            center_ratio: (0.25 * ln_m).exp().max(1.15),
            spread: (ln_m / 6.0).max(0.25),
            floor: 0.05,
        }
    }

    fn is_valid(&self) -> bool {
        self.center_ratio.is_finite()
            && self.center_ratio > 1.0
            && self.spread.is_finite()
            && self.spread > 0.0
            && self.floor > 0.0
            && self.floor < 1.0
    }
}

impl Default for CountTestConfig {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            pass_alpha: 0.05,
            max_relative: 0.5,
            max_absolute: 0.001,
            effect_prior: EffectPrior::default(),
        }
    }
}

/// A setting of [`CountTestConfig`] out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CountTestConfigError {
    #[error("count test `{field}` must be in (0, 1), got {value}")]
    Probability { field: &'static str, value: f64 },
    #[error("count test `{field}` must be finite and ≥ 0, got {value}")]
    Margin { field: &'static str, value: f64 },
    #[error(
        "count test `effect_prior` needs center_ratio > 1, spread > 0 and floor in (0, 1), got {0:?}"
    )]
    EffectPrior(EffectPrior),
}

impl CountTestConfig {
    /// Checks every field; the spec layer calls this before building a test.
    pub fn validate(&self) -> Result<(), CountTestConfigError> {
        for (field, value) in [("alpha", self.alpha), ("pass_alpha", self.pass_alpha)] {
            if !(value > 0.0 && value < 1.0) {
                return Err(CountTestConfigError::Probability { field, value });
            }
        }
        for (field, value) in [
            ("max_relative", self.max_relative),
            ("max_absolute", self.max_absolute),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(CountTestConfigError::Margin { field, value });
            }
        }
        if !self.effect_prior.is_valid() {
            return Err(CountTestConfigError::EffectPrior(self.effect_prior));
        }
        Ok(())
    }

    /// Out-of-range values pulled into range (used by [`crate::CountTest::new`],
    /// which cannot fail; call [`Self::validate`] to reject them instead).
    pub(crate) fn clamped(self) -> Self {
        let prob = |v: f64, default: f64| if v > 0.0 && v < 1.0 { v } else { default };
        let margin = |v: f64| if v.is_finite() && v >= 0.0 { v } else { 0.0 };
        let d = Self::default();
        Self {
            alpha: prob(self.alpha, d.alpha),
            pass_alpha: prob(self.pass_alpha, d.pass_alpha),
            max_relative: margin(self.max_relative),
            max_absolute: margin(self.max_absolute),
            effect_prior: if self.effect_prior.is_valid() {
                self.effect_prior
            } else {
                d.effect_prior
            },
        }
    }
}

/// The verdict of a judge on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Fail,
    Pass,
    Continue,
}

/// A serializable snapshot of a [`crate::CountTest`], for the ledger and the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountSummary {
    pub decision: Decision,
    /// `ln E` of the fail test.
    pub log_e_value: f64,
    /// `E`, capped at `f64::MAX`.
    pub e_value: f64,
    /// `1/alpha`, the e-value at which the test fails.
    pub e_threshold: f64,
    pub failed: bool,
    pub passed: bool,
    /// Maximum-likelihood rate ratio, `None` before any informative window.
    pub ratio_estimate: Option<f64>,
    pub ratio_lower: f64,
    /// `None` when unbounded.
    pub ratio_upper: Option<f64>,
    pub baseline: Counts,
    pub canary: Counts,
    pub baseline_rate: Option<f64>,
    pub canary_rate: Option<f64>,
    /// Anytime-valid lower bound on the baseline rate (pass criterion).
    pub baseline_rate_lower: f64,
    /// Anytime-valid upper bound on the canary rate (pass criterion).
    pub canary_rate_upper: f64,
    /// The canary rate the pass criterion tolerates.
    pub tolerated_rate: f64,
    /// Windows that carried bad events from a split with both versions.
    pub informative_windows: u64,
}
