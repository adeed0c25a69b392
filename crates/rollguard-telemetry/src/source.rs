//! [`PrometheusSource`]: each `prometheus` metric of a rollout becomes four
//! instant queries at the window's end (requests and bad events, for the
//! baseline and the canary), run concurrently, each with its own timeout.
//! The rounded results feed the count test as [`MetricData::Counts`]. If any
//! of the four fails, the metric has no data this window, and the reason
//! (which version, which query, what went wrong) goes into the observation
//! and so into the ledger.

use std::collections::BTreeMap;
use std::time::Duration;

use rollguard_core::ports::{BoxFuture, MetricSource, Sensed};
use rollguard_core::spec::{MetricSource as SpecSource, Rollout};
use rollguard_core::{MetricData, Millis, Observation};
use rollguard_stats::Counts;

use crate::client::PromClient;
use crate::error::PromError;
use crate::promql::{Role, render_query};

/// Reads a rollout's `prometheus` metrics from one Prometheus server.
pub struct PrometheusSource {
    client: PromClient,
    timeout: Duration,
}

impl PrometheusSource {
    /// `timeout` bounds each query separately.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, PromError> {
        Ok(PrometheusSource {
            client: PromClient::new(url)?,
            timeout,
        })
    }

    /// From the rollout's `spec.telemetry.prometheus`, if it has one.
    pub fn for_rollout(rollout: &Rollout) -> Option<Result<Self, PromError>> {
        rollout
            .telemetry
            .prometheus
            .as_ref()
            .map(|p| Self::new(&p.url, Duration::from_millis(p.timeout)))
    }

    async fn count(
        &self,
        template: &str,
        rollout: &Rollout,
        role: Role,
        start: Millis,
        end: Millis,
    ) -> Result<f64, PromError> {
        let query = render_query(template, rollout, role, start, end);
        self.client.instant(&query, end, self.timeout).await
    }

    /// The counts of one metric for both versions, or why there are none.
    async fn metric(
        &self,
        rollout: &Rollout,
        total: &str,
        bad: &str,
        start: Millis,
        end: Millis,
    ) -> Result<(Counts, Counts), String> {
        let (bt, bb, ct, cb) = tokio::join!(
            self.count(total, rollout, Role::Baseline, start, end),
            self.count(bad, rollout, Role::Baseline, start, end),
            self.count(total, rollout, Role::Canary, start, end),
            self.count(bad, rollout, Role::Canary, start, end),
        );
        let label = |role: Role, what: &str, r: Result<f64, PromError>| {
            r.map_err(|e| format!("{} {what} query: {e}", role.as_str()))
        };
        let baseline = counts(
            Role::Baseline,
            label(Role::Baseline, "total", bt)?,
            label(Role::Baseline, "bad", bb)?,
        )?;
        let canary = counts(
            Role::Canary,
            label(Role::Canary, "total", ct)?,
            label(Role::Canary, "bad", cb)?,
        )?;
        Ok((baseline, canary))
    }
}

/// Rounds extrapolated increases to counts; bad may not exceed total.
fn counts(role: Role, total: f64, bad: f64) -> Result<Counts, String> {
    let (t, b) = (total.round() as u64, bad.round() as u64);
    if b > t {
        return Err(format!(
            "{}: the bad-event query ({bad}) counts more than the total query ({total}); check the two queries select the same requests",
            role.as_str()
        ));
    }
    Ok(Counts::new(t, b))
}

impl MetricSource for PrometheusSource {
    fn sense<'a>(
        &'a mut self,
        rollout: &'a Rollout,
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Sensed> {
        Box::pin(async move {
            let mut metrics = BTreeMap::new();
            let mut notes = Vec::new();
            for m in &rollout.analysis.metrics {
                let data = match &m.source {
                    _ if end <= start => MetricData::NoData {
                        reason: "empty window".into(),
                    },
                    SpecSource::Prometheus { total, bad } => {
                        match self.metric(rollout, total, bad, start, end).await {
                            Ok((baseline, canary)) => MetricData::Counts { baseline, canary },
                            Err(reason) => {
                                let reason = format!("prometheus {}: {reason}", self.client.base());
                                tracing::warn!(rollout = %rollout.name, metric = %m.name, "{reason}");
                                notes.push(format!("metric {}: {reason}", m.name));
                                MetricData::NoData { reason }
                            }
                        }
                    }
                    other => MetricData::NoData {
                        reason: format!(
                            "{} is measured by the builtin proxy's tap, which this rollout does not use; read it from Prometheus instead",
                            other.describe()
                        ),
                    },
                };
                metrics.insert(m.name.clone(), data);
            }
            Sensed {
                observation: Observation {
                    start,
                    end,
                    metrics,
                },
                notes,
            }
        })
    }

    fn describe(&self) -> String {
        format!("prometheus {}", self.client.base())
    }
}
