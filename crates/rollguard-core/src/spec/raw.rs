//! The raw, as-written form of a `Rollout` file: serde types that refuse unknown
//! fields. Nothing here is validated beyond YAML types; `super::validate` turns a
//! [`RawRollout`] into a checked [`super::Rollout`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(
    title = "rollguard Rollout",
    description = "A canary rollout for rollguard."
)]
pub struct RawRollout {
    /// Must be `rollguard.dev/v1alpha1`.
    pub api_version: String,
    /// Must be `Rollout`.
    pub kind: String,
    pub metadata: RawMetadata,
    pub spec: RawSpec,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMetadata {
    /// Rollout name: lowercase letters, digits and `-`, at most 63 characters.
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Free labels; `env` is read by the default policy bundle.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSpec {
    /// The service being released (used in PromQL templates and policy).
    pub service: String,
    pub baseline: RawVersion,
    pub canary: RawVersion,
    #[serde(default)]
    pub router: Option<RawRouter>,
    #[serde(default)]
    pub telemetry: Option<RawTelemetry>,
    pub strategy: RawStrategy,
    pub analysis: RawAnalysis,
    /// What to do when the canary fails: `rollback` (default) or `freeze` (hold
    /// traffic where it is and page a person; for irreversible changes).
    #[serde(default)]
    pub on_failure: Option<String>,
    /// What to do when rollguard restarts mid-rollout: `resume` (default) or `rollback`.
    #[serde(default)]
    pub on_restart: Option<String>,
    #[serde(default)]
    pub policy: Option<RawPolicyRef>,
    /// Commands or webhooks run at fixed moments of the rollout.
    #[serde(default)]
    pub hooks: Option<RawHooks>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawVersion {
    /// A version label, e.g. `v1.4.2`.
    pub version: String,
    /// Where this version serves, e.g. `http://127.0.0.1:9001` (builtin router).
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRouter {
    #[serde(default)]
    pub builtin: Option<RawBuiltinRouter>,
    #[serde(default)]
    pub haproxy: Option<RawHaproxyRouter>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBuiltinRouter {
    /// Address the builtin proxy listens on (default `127.0.0.1:8080`).
    #[serde(default)]
    pub listen: Option<String>,
    /// Keep a client on one version by this request header...
    #[serde(default)]
    pub sticky_header: Option<String>,
    /// ...or by this cookie.
    #[serde(default)]
    pub sticky_cookie: Option<String>,
    /// A request carrying this header with value `canary` or `baseline` goes there
    /// (default `x-rollguard-version`).
    #[serde(default)]
    pub force_header: Option<String>,
    /// Percentage of baseline traffic mirrored to the canary (shadow), 0-100.
    #[serde(default)]
    pub mirror_percent: Option<f64>,
    /// Upstream request timeout (default `30s`).
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHaproxyRouter {
    /// HAProxy runtime API: a unix socket path or `host:port`.
    pub socket: String,
    pub backend: String,
    pub baseline_server: String,
    pub canary_server: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTelemetry {
    /// How often the loop senses and judges (default `1s`).
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub prometheus: Option<RawPrometheus>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPrometheus {
    /// Base URL of the Prometheus HTTP API, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// Per-query timeout (default `2s`).
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStrategy {
    #[schemars(with = "Vec<RawStep>")]
    pub steps: Vec<Spanned<RawStep>>,
}

/// One step: exactly one of `setWeight`, `analyze`, `pause`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum RawStep {
    /// Send this percentage (0-100) of traffic to the canary.
    SetWeight(f64),
    /// Judge the canary; move on once every metric passes after `minDuration`.
    Analyze(RawAnalyze),
    /// Wait `duration`, or until a person promotes when no duration is given.
    Pause(RawPause),
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAnalyze {
    /// Least time the step lasts before it may pass (default `30s`).
    #[serde(default)]
    pub min_duration: Option<String>,
    /// Longest time the step may stay undecided (default `10m`), then `analysis.onMaxDuration`.
    #[serde(default)]
    pub max_duration: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPause {
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAnalysis {
    /// Highest tolerated false-rollback probability over the whole rollout (default 0.01).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Error level of the "not worse than the margin" confidence sequence (default 0.05).
    #[serde(default)]
    pub pass_alpha: Option<f64>,
    /// When an analyze step reaches maxDuration undecided: `wait` (for a person,
    /// default), `rollback` or `promote`.
    #[serde(default)]
    pub on_max_duration: Option<String>,
    #[schemars(with = "Vec<RawMetric>")]
    pub metrics: Vec<Spanned<RawMetric>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMetric {
    pub name: String,
    /// Bad events are failed requests (5xx, connect errors, timeouts).
    #[serde(default)]
    pub error_rate: Option<RawEmpty>,
    /// Bad events are requests slower than a threshold.
    #[serde(default)]
    pub latency: Option<RawLatency>,
    /// Bad events and requests counted by two PromQL queries per version.
    #[serde(default)]
    pub prometheus: Option<RawPromCounts>,
    /// Tolerated degradation for a step to pass.
    #[serde(default)]
    pub max_increase: Option<RawMargin>,
    /// Roll back at once when the canary's bad rate in one window exceeds this.
    #[serde(default)]
    pub abort_above: Option<f64>,
    /// What no data means: `hold` (default), `rollback` or `ignore`.
    #[serde(default)]
    pub on_no_data: Option<String>,
    /// How long no data may last before `onNoData` applies (default `60s`).
    #[serde(default)]
    pub no_data_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmpty {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLatency {
    /// Threshold from the baseline's own quantile, e.g. 0.99 (p99).
    #[serde(default)]
    pub baseline_quantile: Option<f64>,
    /// Or a fixed SLO threshold in milliseconds.
    #[serde(default)]
    pub threshold_ms: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPromCounts {
    /// PromQL for all requests of a version over the window; `{{version}}`,
    /// `{{service}}` and `{{window}}` are substituted.
    pub total: String,
    /// PromQL for the bad events of a version over the window.
    pub bad: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMargin {
    /// Relative increase over the baseline's rate, e.g. 0.5 = 50% worse.
    #[serde(default)]
    pub relative: Option<f64>,
    /// Absolute increase in rate, e.g. 0.002 = 0.2 percentage points.
    #[serde(default)]
    pub absolute: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPolicyRef {
    /// Directory of a policy bundle (`.rego` files and data).
    pub bundle: String,
}

/// Hooks by stage; each runs in order, and a stage fails at its first failed hook.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHooks {
    /// Before any traffic moves; a failure blocks the rollout.
    #[serde(default)]
    pub pre_rollout: Vec<RawHook>,
    /// Before each `setWeight` step that raises the canary's share; a failure blocks it.
    #[serde(default)]
    pub pre_step: Vec<RawHook>,
    /// Before the final promotion to 100%; a failure blocks it.
    #[serde(default)]
    pub pre_promote: Vec<RawHook>,
    /// After the promotion to 100%.
    #[serde(default)]
    pub post_promote: Vec<RawHook>,
    /// After a rollback has taken all traffic off the canary (e.g. a migration's
    /// down script, turning a feature flag off).
    #[serde(default)]
    pub on_rollback: Vec<RawHook>,
}

/// One hook: exactly one of `exec` or `webhook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHook {
    /// A name for the ledger (default: the command or URL).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub exec: Option<RawExecHook>,
    #[serde(default)]
    pub webhook: Option<RawWebhookHook>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawExecHook {
    /// Program and arguments (no shell), e.g. `["./migrate", "down"]`.
    pub command: Vec<String>,
    /// Killed and failed after this long (default `30s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Extra attempts after a failure (default 0).
    #[serde(default)]
    pub retries: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWebhookHook {
    /// Receives a JSON POST; any 2xx answer is success.
    pub url: String,
    /// Per-attempt timeout (default `10s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Extra attempts after a failure (default 2).
    #[serde(default)]
    pub retries: Option<u32>,
}
