//! Reference judges: faithful re-implementations of how other progressive
//! delivery tools decide, used only by the benchmark to compare rollguard's
//! count test against them on the same traffic.
//!
//! Every judge sees the same stream of observation windows through
//! [`ReferenceJudge::observe`] and aggregates them into its own intervals.
//! A window's `at_ms` is the time its end was reached, counted from the start
//! of the analysis; an interval `k` (1-based) covers windows with
//! `(k-1)·I < at_ms ≤ k·I` and is judged when the first window with
//! `at_ms ≥ k·I` arrives (gaps skip intervals, they are not invented).
//! The value a judge compares is the interval's bad rate for count metrics
//! and a configured quantile of the interval's merged histogram for latency.

mod argo;
mod flagger;
mod interval;
mod kayenta;
mod mann_whitney;
mod wald_oracle;

pub use argo::{ArgoConfig, ArgoJudge};
pub use flagger::{FlaggerConfig, FlaggerJudge};
pub use interval::{IntervalClock, IntervalData};
pub use kayenta::{Classification, KayentaConfig, KayentaJudge};
pub use mann_whitney::{MannWhitneyResult, mann_whitney};
pub use wald_oracle::{WaldOracle, WaldOracleConfig};

use crate::count_test::Decision;
use crate::counts::Counts;
use crate::histogram::LatencyHistogram;

/// One observation window of one metric, as every judge sees it.
#[derive(Debug, Clone, Copy)]
pub enum MetricWindow<'a> {
    Counts {
        baseline: Counts,
        canary: Counts,
    },
    Latency {
        baseline: &'a LatencyHistogram,
        canary: &'a LatencyHistogram,
    },
}

/// A judge the benchmark can swap in for rollguard's count test.
pub trait ReferenceJudge: Send {
    fn name(&self) -> &'static str;
    /// Feeds one window ending at `at_ms`; returns the judge's verdict so far.
    fn observe(&mut self, at_ms: u64, window: MetricWindow<'_>) -> Decision;
}
