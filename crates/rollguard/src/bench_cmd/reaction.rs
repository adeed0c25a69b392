//! Reaction benchmark: a real live rollout (engine, builtin proxy, telemetry
//! tap, default one-second tick) with open-loop load; once the canary has
//! served healthy traffic at its weight, its error rate is raised and the
//! clock runs until the router takes the canary's weight to 0. The stop time
//! is taken inside the router call, so it is when traffic actually moved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rollguard_core::ports::{BoxFuture, RouterError, TrafficRouter};
use rollguard_runtime::{LiveRollout, RunOptions, StopSignal};
use rollguard_testbed::{DemoService, LatencyModel, LoadConfig, LoadGenerator, ServiceBehavior};
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use super::{ReactionArgs, secs};
use crate::display::Quiet;
use crate::exit::Failure;

const TEMPLATE: &str = "apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata:
  name: bench-reaction
spec:
  service: bench
  baseline: {version: v1, endpoint: \"__BASELINE__\"}
  canary: {version: v2, endpoint: \"__CANARY__\"}
  router:
    builtin: {listen: \"127.0.0.1:0\"}
  telemetry: {interval: 1s}
  strategy:
    steps:
      - setWeight: __WEIGHT__
      - analyze: {minDuration: 1h, maxDuration: 2h}
  analysis:
    alpha: 0.01
    passAlpha: 0.05
    onMaxDuration: wait
    metrics:
      - name: errors
        errorRate: {}
        maxIncrease: {relative: 0.5, absolute: 0.01}
        abortAbove: 0.5
      - name: latency-p50
        latency: {baselineQuantile: 0.5}
        maxIncrease: {relative: 0.25, absolute: 0.05}
      - name: latency-p99
        latency: {baselineQuantile: 0.99}
        maxIncrease: {relative: 1.0, absolute: 0.02}
  onFailure: rollback
";

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Seconds from the fault to canary weight 0; `None` if not within the timeout.
    pub reaction_secs: Option<f64>,
    /// Requests the failing canary received before it was taken out.
    pub failing_canary_requests: u64,
    /// How the rollout ended (`rolled_back` expected).
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub error_rate: f64,
    pub target_secs: Option<f64>,
    pub trials: Vec<Trial>,
    pub mean_secs: Option<f64>,
    pub max_secs: Option<f64>,
    pub detected: usize,
    pub mean_failing_canary_requests: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReactionReport {
    pub rps: f64,
    pub canary_weight: f64,
    pub baseline_error_rate: f64,
    pub warmup_secs: f64,
    pub timeout_secs: f64,
    pub rows: Vec<Row>,
}

/// The targets: 20% errors out in under 5 s, 2% in under 60 s.
fn target(error_rate: f64) -> Option<f64> {
    if (error_rate - 0.20).abs() < 1e-9 {
        Some(5.0)
    } else if (error_rate - 0.02).abs() < 1e-9 {
        Some(60.0)
    } else {
        None
    }
}

/// A router that reports every applied weight and when it took effect.
struct TimedRouter {
    inner: Box<dyn TrafficRouter>,
    applied: watch::Sender<(f64, Instant)>,
}

impl TrafficRouter for TimedRouter {
    fn set_weight(&self, weight: f64) -> BoxFuture<'_, Result<(), RouterError>> {
        Box::pin(async move {
            self.inner.set_weight(weight).await?;
            self.applied.send_replace((weight, Instant::now()));
            Ok(())
        })
    }

    fn observed_weight(&self) -> BoxFuture<'_, Result<f64, RouterError>> {
        self.inner.observed_weight()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn healthy(error_rate: f64) -> ServiceBehavior {
    ServiceBehavior::healthy()
        .with_error_rate(error_rate)
        .with_latency(LatencyModel::lognormal(20.0, 0.35))
}

/// `phase` (0..1 of a tick) shifts the fault against the loop's tick, so the
/// trials of one row together see the fault land early, mid and late in a
/// telemetry window instead of always at the same point.
async fn trial(a: &ReactionArgs, error_rate: f64, phase: f64) -> Result<Trial, Failure> {
    let ok = healthy(a.baseline_error_rate);
    let baseline = DemoService::start("baseline v1", ok)
        .await
        .context("starting the baseline service")?;
    let canary = DemoService::start("canary v2", ok)
        .await
        .context("starting the canary service")?;
    let text = TEMPLATE
        .replace("__BASELINE__", &format!("http://{}", baseline.addr()))
        .replace("__CANARY__", &format!("http://{}", canary.addr()))
        .replace("__WEIGHT__", &a.weight.to_string());
    let rollout = Arc::new(
        rollguard_core::spec::load(&text, "bench-reaction.yaml").map_err(Failure::invalid)?,
    );
    let mut wiring = rollguard_runtime::wiring::wire(&rollout)
        .await
        .map_err(Failure::other)?;
    let (applied, mut weights) = watch::channel((0.0, Instant::now()));
    wiring.router = Box::new(TimedRouter {
        inner: wiring.router,
        applied,
    });
    let mut opts = RunOptions::new(None);
    opts.resume = false;
    opts.operator = "bench".into();
    opts.wiring = Some(wiring);
    let live = LiveRollout::prepare(rollout, opts)
        .await
        .map_err(Failure::other)?;
    let addr = live
        .proxy_addr()
        .context("the bench rollout has no builtin proxy")?;
    let target: http::Uri = format!("http://{addr}/checkout")
        .parse()
        .context("proxy address")?;
    let load = LoadGenerator::start(LoadConfig::new(target, a.rps, Duration::from_secs(86_400)))
        .context("starting the load generator")?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stop: StopSignal = Box::pin(async move {
        let _ = stop_rx.await;
    });
    let run = tokio::spawn(async move { live.run(&mut Quiet, stop).await });

    let weight = a.weight;
    tokio::time::timeout(
        Duration::from_secs(30),
        weights.wait_for(|(w, _)| (*w - weight).abs() < 1e-9),
    )
    .await
    .context("the canary never reached its weight")?
    .context("the rollout ended before the canary reached its weight")?;
    tokio::time::sleep(Duration::from_secs_f64(a.warmup.max(0.0) + phase)).await;

    let result = if weights.borrow().0 == 0.0 {
        Trial {
            reaction_secs: None,
            failing_canary_requests: 0,
            outcome: "rolled back before the fault (false alarm)".into(),
        }
    } else {
        let before = canary.requests();
        canary
            .set_behavior(healthy(error_rate))
            .context("making the canary fail")?;
        let fault_at = Instant::now();
        let zero = tokio::time::timeout(
            Duration::from_secs_f64(a.timeout),
            weights.wait_for(|(w, _)| *w == 0.0),
        )
        .await;
        let reaction_secs = match zero {
            Ok(Ok(v)) => Some(v.1.saturating_duration_since(fault_at).as_secs_f64()),
            _ => None,
        };
        Trial {
            reaction_secs,
            failing_canary_requests: canary.requests().saturating_sub(before),
            outcome: String::new(),
        }
    };
    let _ = stop_tx.send(());
    let summary = run
        .await
        .context("the rollout task failed")?
        .map_err(Failure::other)?;
    load.stop();
    let _ = load.wait().await;
    baseline.stop();
    canary.stop();
    let outcome = if result.outcome.is_empty() {
        summary
            .outcome
            .map(|o| o.to_string())
            .unwrap_or(summary.status)
    } else {
        result.outcome.clone()
    };
    Ok(Trial { outcome, ..result })
}

pub async fn run(a: &ReactionArgs, text: bool) -> Result<ReactionReport, Failure> {
    let mut rows = Vec::new();
    for &rate in &a.error_rates {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Failure::invalid(anyhow::anyhow!(
                "--error-rates: {rate} is not a fraction between 0 and 1"
            )));
        }
        let mut trials = Vec::new();
        let repeats = a.repeats.max(1);
        for i in 0..repeats {
            let phase = (i as f64 + 0.5) / repeats as f64;
            let t = trial(a, rate, phase).await?;
            if text {
                eprintln!(
                    "  {:.0}% errors, trial {}: {} ({}; {} failing canary requests)",
                    rate * 100.0,
                    i + 1,
                    t.reaction_secs
                        .map(secs)
                        .unwrap_or_else(|| "not taken out".into()),
                    t.outcome,
                    t.failing_canary_requests
                );
            }
            trials.push(t);
        }
        let times: Vec<f64> = trials.iter().filter_map(|t| t.reaction_secs).collect();
        let detected = times.len();
        let mean_failing = trials
            .iter()
            .map(|t| t.failing_canary_requests as f64)
            .sum::<f64>()
            / trials.len() as f64;
        rows.push(Row {
            error_rate: rate,
            target_secs: target(rate),
            mean_secs: (detected > 0).then(|| times.iter().sum::<f64>() / detected as f64),
            max_secs: (detected == trials.len()).then(|| times.iter().copied().fold(0.0, f64::max)),
            detected,
            mean_failing_canary_requests: mean_failing,
            trials,
        });
    }
    Ok(ReactionReport {
        rps: a.rps,
        canary_weight: a.weight,
        baseline_error_rate: a.baseline_error_rate,
        warmup_secs: a.warmup,
        timeout_secs: a.timeout,
        rows,
    })
}

/// The figures as a markdown table.
pub fn table(r: &ReactionReport) -> String {
    let mut out = format!(
        "Reaction: {} rps total, canary at {}%, baseline {:.1}% errors, {} s healthy warm-up (plus a phase offset spread over the 1 s tick); \
         time from the canary starting to fail to its weight at 0.\n\n\
         | canary errors | target | mean | max | taken out | failing canary requests (mean) |\n\
         |---|---|---|---|---|---|\n",
        r.rps,
        r.canary_weight,
        r.baseline_error_rate * 100.0,
        r.warmup_secs
    );
    for row in &r.rows {
        let or_dash = |x: Option<f64>| x.map(secs).unwrap_or_else(|| "-".into());
        let target = row
            .target_secs
            .map(|t| format!("< {}", secs(t)))
            .unwrap_or_else(|| "-".into());
        let max = match row.max_secs {
            Some(m) => secs(m),
            None => format!("> {}", secs(r.timeout_secs)),
        };
        out.push_str(&format!(
            "| {}% | {target} | {} | {max} | {}/{} | {:.0} |\n",
            row.error_rate * 100.0,
            or_dash(row.mean_secs),
            row.detected,
            row.trials.len(),
            row.mean_failing_canary_requests
        ));
    }
    out
}
