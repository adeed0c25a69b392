//! What the engine senses: per-metric data for one window of time.
//!
//! Telemetry sources (the builtin proxy tap, Prometheus, a replayed trace, the
//! simulator) all produce an [`Observation`]. Missing or stale data is explicit
//! ([`MetricData::NoData`] with a reason), never a window of zeros.

use std::collections::BTreeMap;

use rollguard_stats::{Counts, LatencyHistogram};
use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::spec::{MetricSource, Rollout};

/// One window of telemetry, `[start, end)` in engine milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub start: Millis,
    pub end: Millis,
    /// Keyed by metric name, as in the rollout's `analysis.metrics`.
    pub metrics: BTreeMap<String, MetricData>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricData {
    /// Requests and bad events per version.
    Counts { baseline: Counts, canary: Counts },
    /// Latency histograms per version; the engine counts exceedances.
    Latency {
        baseline: LatencyHistogram,
        canary: LatencyHistogram,
    },
    /// The source could not tell: outage, stale series, parse error...
    NoData { reason: String },
}

/// What one version served in a window, as a proxy tap or a trace sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionWindow {
    pub requests: u64,
    /// Failed requests: 5xx, connect errors, timeouts.
    pub errors: u64,
    pub latency: LatencyHistogram,
}

impl VersionWindow {
    pub fn record(&mut self, is_error: bool, latency_ms: f64) {
        self.requests += 1;
        if is_error {
            self.errors += 1;
        }
        self.latency.record_ms(latency_ms);
    }
}

impl Observation {
    /// Builds the observation of every request-level metric of `rollout` from
    /// what each version served. Metrics that need another source (Prometheus)
    /// are reported as `NoData` naming why.
    pub fn from_versions(
        rollout: &Rollout,
        start: Millis,
        end: Millis,
        baseline: &VersionWindow,
        canary: &VersionWindow,
    ) -> Observation {
        let metrics = rollout
            .analysis
            .metrics
            .iter()
            .map(|m| {
                let data = match &m.source {
                    MetricSource::ErrorRate => MetricData::Counts {
                        baseline: Counts::new(baseline.requests, baseline.errors),
                        canary: Counts::new(canary.requests, canary.errors),
                    },
                    MetricSource::LatencyQuantile(_) | MetricSource::LatencyThreshold(_) => {
                        MetricData::Latency {
                            baseline: baseline.latency.clone(),
                            canary: canary.latency.clone(),
                        }
                    }
                    MetricSource::Prometheus { .. } => MetricData::NoData {
                        reason: "this metric is read from Prometheus, not from the request tap"
                            .into(),
                    },
                };
                (m.name.clone(), data)
            })
            .collect();
        Observation {
            start,
            end,
            metrics,
        }
    }

    /// An observation in which every metric has no data, for the same reason.
    pub fn no_data(rollout: &Rollout, start: Millis, end: Millis, reason: &str) -> Observation {
        Observation {
            start,
            end,
            metrics: rollout
                .analysis
                .metrics
                .iter()
                .map(|m| {
                    (
                        m.name.clone(),
                        MetricData::NoData {
                            reason: reason.to_string(),
                        },
                    )
                })
                .collect(),
        }
    }
}
