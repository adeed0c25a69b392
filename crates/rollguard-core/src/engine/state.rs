//! The engine's state, inputs and effects.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::judge::{Judge, Verdict};
use crate::observation::Observation;
use crate::spec::HookStage;

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    RolledBack,
    Aborted,
    /// Traffic held where it was; a person must decide (`onFailure: freeze`).
    Frozen,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::RolledBack => "rolled_back",
            Outcome::Aborted => "aborted",
            Outcome::Frozen => "frozen",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    Progressing,
    /// A person paused it; judging (and automatic rollback) continue.
    Paused {
        by: String,
    },
    /// Waiting for a person to approve or promote.
    AwaitingHuman {
        reason: String,
    },
    Done {
        outcome: Outcome,
        at: Millis,
        reason: String,
    },
}

/// Per-metric bookkeeping besides the judge.
pub struct MetricState {
    pub name: String,
    pub judge: Box<dyn Judge>,
    pub last_data_at: Option<Millis>,
    pub no_data_since: Option<Millis>,
    pub no_data_reason: Option<String>,
    /// The no-data timeout has been acted on for the current outage.
    pub no_data_escalated: bool,
}

pub struct RolloutState {
    pub started_at: Millis,
    pub step_index: usize,
    pub step_started_at: Millis,
    /// Canary weight (percent) the engine has set.
    pub weight: f64,
    pub status: Status,
    pub metrics: Vec<MetricState>,
    /// Canary requests and bad requests served, over all metrics' first count source.
    pub canary_requests: u64,
    pub canary_errors: u64,
    pub observations: u64,
    /// When the canary last started serving traffic (weight went above 0).
    pub exposed_since: Option<Millis>,
    /// A person approved the current gate.
    pub approved_step: Option<usize>,
    /// A blocking hook stage asked for and not yet reported (stage, step index).
    pub hook_pending: Option<(HookStage, usize)>,
    /// Blocking hook stages that passed (stage, step index).
    pub hooks_passed: Vec<(HookStage, usize)>,
}

impl RolloutState {
    pub fn is_done(&self) -> bool {
        matches!(self.status, Status::Done { .. })
    }

    pub fn outcome(&self) -> Option<Outcome> {
        match self.status {
            Status::Done { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// Verdicts of every metric; `detailed` adds intervals and pass checks.
    pub fn verdicts(&self, detailed: bool) -> Vec<Verdict> {
        self.metrics
            .iter()
            .map(|m| m.judge.verdict(detailed))
            .collect()
    }
}

/// What a person (or an API client) asks of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub kind: CommandKind,
    pub by: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Let a gate (a `pause: {}` step, an approval, a held analysis) pass.
    Approve,
    /// Skip the current step's wait.
    Promote,
    /// Go straight to 100%.
    PromoteFull,
    Pause,
    Resume,
    Abort,
    /// Roll back now (e.g. `onRestart: rollback`); never gated.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Time passed; nothing sensed.
    Tick,
    Observe(Observation),
    Command(Command),
    /// The runtime ran the hooks of a stage the engine asked for.
    HookResult(HookResult),
}

/// How the hooks of one stage went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookResult {
    pub stage: HookStage,
    /// The step the stage belongs to (the step count for the promotion).
    pub step_index: usize,
    pub ok: bool,
    /// One line per hook run: name, attempts, exit status or HTTP status.
    pub detail: String,
}

/// Kinds of ledger event the engine asks to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Started,
    Observed,
    WeightSet,
    StepStarted,
    StepPassed,
    Held,
    AwaitingHuman,
    Denied,
    Paused,
    Resumed,
    Approved,
    Promoted,
    RolledBack,
    Aborted,
    Frozen,
    /// Hooks of a stage ran (the rationale says how).
    HookRan,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Observed => "observed",
            EventKind::WeightSet => "weight_set",
            EventKind::StepStarted => "step_started",
            EventKind::StepPassed => "step_passed",
            EventKind::Held => "held",
            EventKind::AwaitingHuman => "awaiting_human",
            EventKind::Denied => "denied",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::Approved => "approved",
            EventKind::Promoted => "promoted",
            EventKind::RolledBack => "rolled_back",
            EventKind::Aborted => "aborted",
            EventKind::Frozen => "frozen",
            EventKind::HookRan => "hook_ran",
        }
    }
}

/// A ledger record the engine asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub at: Millis,
    pub kind: EventKind,
    pub actor: String,
    pub step_index: usize,
    pub weight: f64,
    pub rationale: String,
    pub verdicts: Vec<Verdict>,
    /// The window sensed (Observed events), so a replay can re-decide.
    pub observation: Option<Observation>,
    /// Policy evaluation attached by the gate, if any.
    pub policy: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Route `weight` percent of traffic to the canary. `key` is stable for the
    /// same decision, so a retried effect is applied once.
    SetWeight {
        weight: f64,
        key: String,
    },
    Record(Record),
    /// A person should know (awaiting approval, promoted, rolled back, frozen).
    Notify {
        kind: EventKind,
        message: String,
    },
    Finished {
        outcome: Outcome,
    },
    /// Run the hooks of `stage` (`spec.hooks`). Blocking stages answer with
    /// `Input::HookResult`; `postPromote` and `onRollback` come after the
    /// outcome's weight, so they run once traffic has moved.
    RunHook {
        stage: HookStage,
        step_index: usize,
    },
}
