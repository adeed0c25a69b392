//! What a finished (or stopped) live rollout reports.

use rollguard_core::{Millis, Outcome, Verdict};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub rollout: String,
    /// `None` when the run stopped while waiting for a person.
    pub outcome: Option<Outcome>,
    pub status: String,
    pub reason: String,
    pub run: Millis,
    pub duration_ms: Millis,
    pub final_weight: f64,
    /// Requests the canary served to users (through the proxy) in this run.
    pub canary_requests: u64,
    pub canary_errors: u64,
    /// Time from the canary's first user traffic to its last.
    pub canary_exposure_ms: Millis,
    pub verdicts: Vec<Verdict>,
    pub ledger: Option<String>,
    pub events_written: u64,
    pub resumed: bool,
    /// The last upstream error seen for the canary, e.g. connection refused.
    pub canary_last_error: Option<String>,
    pub baseline_last_error: Option<String>,
}
