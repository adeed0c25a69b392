//! The rollout spec (`apiVersion: rollguard.dev/v1alpha1`, `kind: Rollout`).
//!
//! Two stages, as ripgrep and pingora do it: [`raw`] is what serde reads
//! (unknown fields refused, with line and column), and [`Rollout`] is the
//! validated form the engine runs. [`load`] does both and reports errors with
//! file, line, column and field path.

mod hooks;
pub mod raw;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::Millis;

pub use hooks::{HookAction, HookSpec, HookStage, HooksSpec};
pub use validate::{SpecError, load, load_file, parse_raw};

pub const API_VERSION: &str = "rollguard.dev/v1alpha1";
pub const KIND: &str = "Rollout";

/// A validated rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub service: String,
    pub baseline: VersionSpec,
    pub canary: VersionSpec,
    pub router: RouterSpec,
    pub telemetry: TelemetrySpec,
    pub steps: Vec<Step>,
    pub analysis: AnalysisSpec,
    pub on_failure: OnFailure,
    pub on_restart: OnRestart,
    pub policy_bundle: Option<String>,
    /// `spec.hooks` (empty when absent; older ledgers lack the field).
    #[serde(default)]
    pub hooks: HooksSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSpec {
    pub version: String,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouterSpec {
    Builtin(BuiltinRouterSpec),
    Haproxy(HaproxyRouterSpec),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltinRouterSpec {
    pub listen: String,
    pub sticky_header: Option<String>,
    pub sticky_cookie: Option<String>,
    pub force_header: String,
    pub mirror_percent: f64,
    pub timeout: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaproxyRouterSpec {
    pub socket: String,
    pub backend: String,
    pub baseline_server: String,
    pub canary_server: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySpec {
    pub interval: Millis,
    pub prometheus: Option<PrometheusSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrometheusSpec {
    pub url: String,
    pub timeout: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    SetWeight(f64),
    Analyze {
        min: Millis,
        max: Millis,
    },
    /// `None`: until a person promotes or approves.
    Pause(Option<Millis>),
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::SetWeight(_) => "set_weight",
            Step::Analyze { .. } => "analyze",
            Step::Pause(_) => "pause",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::duration::Human;
        match self {
            Step::SetWeight(w) => write!(f, "setWeight {w}%"),
            Step::Analyze { min, max } => {
                write!(f, "analyze (min {}, max {})", Human(*min), Human(*max))
            }
            Step::Pause(Some(d)) => write!(f, "pause {}", Human(*d)),
            Step::Pause(None) => write!(f, "pause until promoted"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSpec {
    pub alpha: f64,
    pub pass_alpha: f64,
    pub on_max_duration: OnMaxDuration,
    pub metrics: Vec<MetricSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMaxDuration {
    Wait,
    Rollback,
    Promote,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    pub name: String,
    pub source: MetricSource,
    pub max_relative: f64,
    pub max_absolute: f64,
    pub abort_above: Option<f64>,
    pub on_no_data: OnNoData,
    pub no_data_timeout: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    ErrorRate,
    LatencyQuantile(f64),
    LatencyThreshold(f64),
    Prometheus { total: String, bad: String },
}

impl MetricSource {
    pub fn describe(&self) -> String {
        match self {
            MetricSource::ErrorRate => "failed requests".into(),
            MetricSource::LatencyQuantile(q) => {
                format!("requests slower than the baseline's p{}", fmt_quantile(*q))
            }
            MetricSource::LatencyThreshold(ms) => format!("requests slower than {ms} ms"),
            MetricSource::Prometheus { .. } => "bad events counted by Prometheus".into(),
        }
    }
}

fn fmt_quantile(q: f64) -> String {
    let p = q * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}", p.round() as u64)
    } else {
        format!("{p}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnNoData {
    Hold,
    Rollback,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Rollback,
    Freeze,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRestart {
    Resume,
    Rollback,
}

/// The JSON Schema of the rollout file, for editors.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::RawRollout)).unwrap_or_default()
}
