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
}

impl Default for CountTestConfig {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            pass_alpha: 0.05,
            max_relative: 0.5,
            max_absolute: 0.001,
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
