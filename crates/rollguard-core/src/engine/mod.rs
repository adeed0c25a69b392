//! The rollout engine: a pure state machine.
//!
//! `Engine::step(state, input, now, gate) -> (state, effects)`. It never reads
//! a clock, performs I/O or draws random numbers; the runtime performs the
//! effects (set a weight, write the ledger, notify) and feeds back what it
//! senses. The same code runs live, in `rollguard sim` on a virtual clock and
//! in `rollguard replay`.
//!
//! Rules, in order, on every input:
//! 1. Nothing happens after a terminal outcome.
//! 2. Absolute guards and failed sequential tests roll back (or freeze) at once,
//!    whatever the step, pause or approval state. Rollback is never gated.
//! 3. Missing data never passes: a metric without data holds progress, and
//!    after its `noDataTimeout` its `onNoData` applies.
//! 4. Steps advance only as written: `setWeight` at once (through the policy
//!    gate when it raises exposure), `pause` after its duration or a person,
//!    `analyze` once every metric passes after `minDuration`.

mod gate;
mod state;

pub use gate::{AllowAll, Gate, GateDecision, Proposal};
pub use state::*;

use std::sync::Arc;

use crate::Millis;
use crate::duration::Human;
use crate::judge::{Decision, JudgeFactory, JudgeInput, SequentialJudges, Verdict};
use crate::observation::{MetricData, Observation};
use crate::spec::{HookStage, OnFailure, OnMaxDuration, OnNoData, Rollout, Step};

/// Least canary requests in a window before an absolute guard may trip.
pub const GUARD_MIN_REQUESTS: u64 = 20;

pub struct Engine {
    pub rollout: Arc<Rollout>,
    factory: Box<dyn JudgeFactory + Send + Sync>,
}

struct Ctx<'a> {
    now: Millis,
    fx: Vec<Effect>,
    gate: &'a mut dyn Gate,
}

impl Engine {
    pub fn new(rollout: Arc<Rollout>) -> Self {
        Self::with_judges(rollout, Box::new(SequentialJudges))
    }

    pub fn with_judges(
        rollout: Arc<Rollout>,
        factory: Box<dyn JudgeFactory + Send + Sync>,
    ) -> Self {
        Engine { rollout, factory }
    }

    /// A fresh state at `now`, and the effects of the first steps.
    pub fn start(&self, now: Millis, gate: &mut dyn Gate) -> (RolloutState, Vec<Effect>) {
        let n = self.rollout.analysis.metrics.len().max(1) as f64;
        let alpha = self.rollout.analysis.alpha / n;
        let pass_alpha = self.rollout.analysis.pass_alpha / n;
        let metrics = self
            .rollout
            .analysis
            .metrics
            .iter()
            .map(|m| MetricState {
                name: m.name.clone(),
                judge: self.factory.make(m, alpha, pass_alpha),
                last_data_at: None,
                no_data_since: Some(now),
                no_data_reason: Some("no window sensed yet".into()),
                no_data_escalated: false,
            })
            .collect();
        let mut st = RolloutState {
            started_at: now,
            step_index: 0,
            step_started_at: now,
            weight: 0.0,
            status: Status::Progressing,
            metrics,
            canary_requests: 0,
            canary_errors: 0,
            observations: 0,
            exposed_since: None,
            approved_step: None,
            hook_pending: None,
            hooks_passed: Vec::new(),
        };
        let mut cx = Ctx {
            now,
            fx: Vec::new(),
            gate,
        };
        let r = &self.rollout;
        self.record(
            &st,
            &mut cx,
            EventKind::Started,
            "rollguard",
            format!(
                "rollout {} started: {} {} -> {}, {} steps, {} metrics at alpha {}",
                r.name,
                r.service,
                r.baseline.version,
                r.canary.version,
                r.steps.len(),
                r.analysis.metrics.len(),
                r.analysis.alpha
            ),
        );
        self.progress(&mut st, &mut cx);
        (st, cx.fx)
    }

    pub fn step(
        &self,
        mut st: RolloutState,
        input: Input,
        now: Millis,
        gate: &mut dyn Gate,
    ) -> (RolloutState, Vec<Effect>) {
        let mut cx = Ctx {
            now,
            fx: Vec::new(),
            gate,
        };
        if st.is_done() {
            return (st, cx.fx);
        }
        match input {
            Input::Tick => {}
            Input::Observe(obs) => self.observe(&mut st, obs, &mut cx),
            Input::Command(c) => self.command(&mut st, c, &mut cx),
            Input::HookResult(r) => self.hook_result(&mut st, r, &mut cx),
        }
        if !st.is_done() {
            self.check_no_data(&mut st, &mut cx);
        }
        if !st.is_done() {
            self.progress(&mut st, &mut cx);
        }
        (st, cx.fx)
    }

    fn observe(&self, st: &mut RolloutState, obs: Observation, cx: &mut Ctx<'_>) {
        st.observations += 1;
        let mut guard_trip: Option<String> = None;
        let mut counted_canary = false;
        for (spec, m) in self
            .rollout
            .analysis
            .metrics
            .iter()
            .zip(st.metrics.iter_mut())
        {
            let missing = MetricData::NoData {
                reason: "the telemetry source sent nothing for this metric".into(),
            };
            let data = obs.metrics.get(&spec.name).unwrap_or(&missing);
            match JudgeInput::from_data(data) {
                None => {
                    if let MetricData::NoData { reason } = data {
                        m.no_data_reason = Some(reason.clone());
                    }
                    if m.no_data_since.is_none() {
                        m.no_data_since = Some(obs.start.min(cx.now));
                    }
                }
                Some(input) => {
                    m.judge.observe(obs.end, input);
                    m.last_data_at = Some(cx.now);
                    m.no_data_since = None;
                    m.no_data_reason = None;
                    m.no_data_escalated = false;
                    if !counted_canary {
                        let canary = match input {
                            JudgeInput::Counts { canary, .. } => Some(canary),
                            JudgeInput::Latency { .. } => None,
                        };
                        if let Some(c) = canary {
                            st.canary_requests += c.total;
                            st.canary_errors += c.bad;
                            counted_canary = true;
                        }
                    }
                    if let (Some(limit), Some((_, c))) = (spec.abort_above, m.judge.last_window())
                        && guard_trip.is_none()
                        && c.total >= GUARD_MIN_REQUESTS
                        && c.rate().is_some_and(|r| r > limit)
                    {
                        guard_trip = Some(format!(
                            "absolute guard: {} of {} canary requests were bad ({:.1}%) in one window, above the {:.1}% limit of metric {}",
                            c.bad,
                            c.total,
                            100.0 * c.rate().unwrap_or(0.0),
                            100.0 * limit,
                            spec.name
                        ));
                    }
                }
            }
        }
        let verdicts = st.verdicts(false);
        let failed: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.decision == Decision::Fail)
            .collect();
        let summary = verdicts
            .iter()
            .map(|v| format!("{} e={}", v.metric, fmt_e(v.e_value)))
            .collect::<Vec<_>>()
            .join(", ");
        cx.fx.push(Effect::Record(Record {
            at: cx.now,
            kind: EventKind::Observed,
            actor: "rollguard".into(),
            step_index: st.step_index,
            weight: st.weight,
            rationale: format!("window {}..{} ms: {summary}", obs.start, obs.end),
            verdicts: verdicts.clone(),
            observation: Some(obs),
            policy: None,
        }));
        if let Some(reason) = guard_trip {
            self.fail(st, cx, reason);
            return;
        }
        if !failed.is_empty() {
            let reason = failed
                .iter()
                .map(|v| explain_failure(v))
                .collect::<Vec<_>>()
                .join("; ");
            self.fail(st, cx, reason);
        }
    }

    fn check_no_data(&self, st: &mut RolloutState, cx: &mut Ctx<'_>) {
        for i in 0..st.metrics.len() {
            let spec = &self.rollout.analysis.metrics[i];
            let m = &st.metrics[i];
            let Some(since) = m.no_data_since else {
                continue;
            };
            if m.no_data_escalated || cx.now.saturating_sub(since) < spec.no_data_timeout {
                continue;
            }
            let reason = format!(
                "metric {} has had no data for {} (timeout {}): {}",
                spec.name,
                Human(cx.now - since),
                Human(spec.no_data_timeout),
                m.no_data_reason.as_deref().unwrap_or("unknown reason")
            );
            st.metrics[i].no_data_escalated = true;
            match spec.on_no_data {
                OnNoData::Ignore => {}
                OnNoData::Rollback => {
                    self.fail(st, cx, format!("{reason}; onNoData is rollback"));
                    return;
                }
                OnNoData::Hold => {
                    if st.weight > 0.0 || st.step_index > 0 {
                        self.await_human(
                            st,
                            cx,
                            format!("{reason}; holding at {}% until a person decides", st.weight),
                        );
                        return;
                    }
                }
            }
        }
    }

    fn command(&self, st: &mut RolloutState, c: Command, cx: &mut Ctx<'_>) {
        let who = c.by.clone();
        let why = c
            .comment
            .clone()
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        match c.kind {
            CommandKind::Abort => {
                self.set_weight(st, cx, 0.0, "abort");
                self.finish(
                    st,
                    cx,
                    Outcome::Aborted,
                    &who,
                    format!("aborted by {who}{why}"),
                );
            }
            CommandKind::Rollback => {
                self.fail(st, cx, format!("rollback requested by {who}{why}"));
            }
            CommandKind::Pause => {
                st.status = Status::Paused { by: who.clone() };
                self.record(
                    st,
                    cx,
                    EventKind::Paused,
                    &who,
                    format!("paused by {who}{why}"),
                );
            }
            CommandKind::Resume => {
                if matches!(
                    st.status,
                    Status::Paused { .. } | Status::AwaitingHuman { .. }
                ) {
                    st.status = Status::Progressing;
                    self.record(
                        st,
                        cx,
                        EventKind::Resumed,
                        &who,
                        format!("resumed by {who}{why}"),
                    );
                }
            }
            CommandKind::Approve | CommandKind::Promote => {
                st.approved_step = Some(st.step_index);
                st.status = Status::Progressing;
                for m in &mut st.metrics {
                    if m.no_data_escalated {
                        // The person accepted the outage; re-arm for a new one.
                        m.no_data_since = m.no_data_since.map(|_| cx.now);
                        m.no_data_escalated = false;
                    }
                }
                let kind = if c.kind == CommandKind::Approve {
                    EventKind::Approved
                } else {
                    EventKind::StepPassed
                };
                self.record(
                    st,
                    cx,
                    kind,
                    &who,
                    format!(
                        "step {} ({}) let through by {who}{why}",
                        st.step_index + 1,
                        self.step_name(st)
                    ),
                );
                if c.kind == CommandKind::Promote
                    && st.step_index < self.rollout.steps.len()
                    && !matches!(self.rollout.steps[st.step_index], Step::SetWeight(_))
                {
                    self.advance(st, cx);
                }
            }
            CommandKind::PromoteFull => {
                st.approved_step = Some(st.step_index);
                st.status = Status::Progressing;
                st.step_index = self.rollout.steps.len();
                self.record(
                    st,
                    cx,
                    EventKind::StepPassed,
                    &who,
                    format!("full promotion requested by {who}{why}"),
                );
            }
        }
    }

    fn step_name(&self, st: &RolloutState) -> String {
        self.rollout
            .steps
            .get(st.step_index)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "promotion".into())
    }

    fn progress(&self, st: &mut RolloutState, cx: &mut Ctx<'_>) {
        // Each pass either advances a step or stops; bounded by the step count.
        for _ in 0..=self.rollout.steps.len() + 1 {
            if st.status != Status::Progressing {
                return;
            }
            if !self.hooks_clear(st, cx, HookStage::PreRollout, 0) {
                return;
            }
            let elapsed = cx.now.saturating_sub(st.step_started_at);
            let Some(step) = self.rollout.steps.get(st.step_index).copied() else {
                if !self.hooks_clear(st, cx, HookStage::PrePromote, st.step_index) {
                    return;
                }
                if self.propose(st, cx, "promote", 100.0) {
                    self.set_weight(st, cx, 100.0, "promote");
                    let verdicts = st.verdicts(true);
                    let summary = verdicts
                        .iter()
                        .map(explain_pass)
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.finish(
                        st,
                        cx,
                        Outcome::Promoted,
                        "rollguard",
                        format!("every step passed; promoted to 100%. {summary}"),
                    );
                }
                return;
            };
            match step {
                Step::SetWeight(w) => {
                    if w > st.weight && !self.hooks_clear(st, cx, HookStage::PreStep, st.step_index)
                    {
                        return;
                    }
                    if w > st.weight && !self.propose(st, cx, "set_weight", w) {
                        return;
                    }
                    self.set_weight(st, cx, w, "step");
                    self.advance(st, cx);
                }
                Step::Pause(Some(d)) => {
                    if elapsed < d {
                        return;
                    }
                    self.advance(st, cx);
                }
                Step::Pause(None) => {
                    if st.approved_step == Some(st.step_index) {
                        self.advance(st, cx);
                    } else {
                        self.await_human(
                            st,
                            cx,
                            format!(
                                "step {}: pause until a person promotes (rollguard approve {})",
                                st.step_index + 1,
                                self.rollout.name
                            ),
                        );
                        return;
                    }
                }
                Step::Analyze { min, max } => {
                    if elapsed < min {
                        return;
                    }
                    if st.approved_step == Some(st.step_index) {
                        self.advance(st, cx);
                        continue;
                    }
                    let verdicts = st.verdicts(true);
                    let mut waiting = Vec::new();
                    for ((v, m), spec) in verdicts
                        .iter()
                        .zip(&st.metrics)
                        .zip(&self.rollout.analysis.metrics)
                    {
                        let ignored =
                            spec.on_no_data == OnNoData::Ignore && m.no_data_since.is_some();
                        if m.no_data_since.is_some() && !ignored {
                            waiting.push(format!("{}: no data", v.metric));
                        } else if v.decision != Decision::Pass && !ignored {
                            waiting.push(format!("{}: not yet shown within margin", v.metric));
                        }
                    }
                    if waiting.is_empty() {
                        let summary = verdicts
                            .iter()
                            .map(explain_pass)
                            .collect::<Vec<_>>()
                            .join("; ");
                        let text = format!(
                            "step {} passed after {}: {summary}",
                            st.step_index + 1,
                            Human(elapsed)
                        );
                        self.record_with(
                            st,
                            cx,
                            EventKind::StepPassed,
                            "rollguard",
                            text,
                            verdicts,
                        );
                        self.advance(st, cx);
                        continue;
                    }
                    if elapsed >= max {
                        let why = format!(
                            "step {} reached its maxDuration {} undecided ({})",
                            st.step_index + 1,
                            Human(max),
                            waiting.join(", ")
                        );
                        match self.rollout.analysis.on_max_duration {
                            OnMaxDuration::Wait => {
                                self.await_human(st, cx, format!("{why}; waiting for a person"))
                            }
                            OnMaxDuration::Rollback => {
                                self.fail(st, cx, format!("{why}; onMaxDuration is rollback"))
                            }
                            OnMaxDuration::Promote => {
                                self.record(
                                    st,
                                    cx,
                                    EventKind::StepPassed,
                                    "rollguard",
                                    format!("{why}; onMaxDuration is promote"),
                                );
                                self.advance(st, cx);
                                continue;
                            }
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Asks the gate; on deny or approval-needed, holds and records why.
    fn propose(
        &self,
        st: &mut RolloutState,
        cx: &mut Ctx<'_>,
        action: &'static str,
        to: f64,
    ) -> bool {
        let step_kind = self
            .rollout
            .steps
            .get(st.step_index)
            .map(|s| s.kind())
            .unwrap_or("promote");
        let proposal = Proposal {
            action,
            from_weight: st.weight,
            to_weight: to,
            step_index: st.step_index,
            step_kind,
            elapsed_ms: cx.now.saturating_sub(st.started_at),
            step_elapsed_ms: cx.now.saturating_sub(st.step_started_at),
            approved: st.approved_step == Some(st.step_index),
        };
        let verdicts = st.verdicts(false);
        let (decision, policy) = cx.gate.check(&self.rollout, &proposal, &verdicts, cx.now);
        let reason = match decision {
            GateDecision::Allow => return true,
            GateDecision::Deny { reasons } => {
                format!("policy denied {action} to {to}%: {}", reasons.join("; "))
            }
            GateDecision::RequireApproval { reasons } => format!(
                "policy requires approval for {action} to {to}%: {} (rollguard approve {})",
                reasons.join("; "),
                self.rollout.name
            ),
        };
        self.push_record(
            st,
            cx,
            EventKind::Denied,
            "policy",
            reason.clone(),
            verdicts,
            policy,
        );
        self.await_human(st, cx, reason);
        false
    }

    fn advance(&self, st: &mut RolloutState, cx: &mut Ctx<'_>) {
        st.step_index += 1;
        st.step_started_at = cx.now;
        let what = self.step_name(st);
        self.record(
            st,
            cx,
            EventKind::StepStarted,
            "rollguard",
            format!("step {} started: {what}", st.step_index + 1),
        );
    }

    fn set_weight(&self, st: &mut RolloutState, cx: &mut Ctx<'_>, weight: f64, why: &str) {
        if (weight - st.weight).abs() < 1e-9 {
            return;
        }
        let from = st.weight;
        st.weight = weight;
        if weight > 0.0 && st.exposed_since.is_none() {
            st.exposed_since = Some(cx.now);
        }
        cx.fx.push(Effect::SetWeight {
            weight,
            key: format!("{}:{}:{}:{}", self.rollout.name, st.step_index, why, weight),
        });
        self.record(
            st,
            cx,
            EventKind::WeightSet,
            "rollguard",
            match why {
                "step" => format!(
                    "canary weight {from}% -> {weight}% (step {}: {})",
                    st.step_index + 1,
                    self.step_name(st)
                ),
                _ => format!("canary weight {from}% -> {weight}% ({why})"),
            },
        );
    }

    fn fail(&self, st: &mut RolloutState, cx: &mut Ctx<'_>, reason: String) {
        match self.rollout.on_failure {
            OnFailure::Rollback => {
                self.set_weight(st, cx, 0.0, "rollback");
                self.finish(
                    st,
                    cx,
                    Outcome::RolledBack,
                    "rollguard",
                    format!("rolled back: {reason}"),
                );
            }
            OnFailure::Freeze => {
                let w = st.weight;
                self.finish(
                    st,
                    cx,
                    Outcome::Frozen,
                    "rollguard",
                    format!("frozen at {w}% (onFailure: freeze) instead of rolling back: {reason}; a person must decide"),
                );
            }
        }
    }

    /// Whether a blocking hook stage lets progress on; asks for it once
    /// otherwise. A person's approval of the step stands in for it.
    fn hooks_clear(
        &self,
        st: &mut RolloutState,
        cx: &mut Ctx<'_>,
        stage: HookStage,
        index: usize,
    ) -> bool {
        if self.rollout.hooks.stage(stage).is_empty()
            || st.hooks_passed.contains(&(stage, index))
            || st.approved_step == Some(st.step_index)
        {
            return true;
        }
        if st.hook_pending != Some((stage, index)) {
            st.hook_pending = Some((stage, index));
            cx.fx.push(Effect::RunHook {
                stage,
                step_index: index,
            });
        }
        false
    }

    fn hook_result(&self, st: &mut RolloutState, r: HookResult, cx: &mut Ctx<'_>) {
        let what = format!("{} hooks (step {})", r.stage, r.step_index + 1);
        if !r.stage.blocks() || st.hook_pending != Some((r.stage, r.step_index)) {
            let text = format!(
                "{what} {}: {}",
                if r.ok { "passed" } else { "failed" },
                r.detail
            );
            self.record(st, cx, EventKind::HookRan, "hook", text);
            return;
        }
        st.hook_pending = None;
        if r.ok {
            st.hooks_passed.push((r.stage, r.step_index));
            self.record(
                st,
                cx,
                EventKind::HookRan,
                "hook",
                format!("{what} passed: {}", r.detail),
            );
        } else {
            self.record(
                st,
                cx,
                EventKind::HookRan,
                "hook",
                format!("{what} failed: {}", r.detail),
            );
            self.await_human(
                st,
                cx,
                format!(
                    "{what} failed, progress blocked until a person approves: {}",
                    r.detail
                ),
            );
        }
    }

    fn await_human(&self, st: &mut RolloutState, cx: &mut Ctx<'_>, reason: String) {
        if matches!(&st.status, Status::AwaitingHuman { reason: r } if *r == reason) {
            return;
        }
        st.status = Status::AwaitingHuman {
            reason: reason.clone(),
        };
        self.record(
            st,
            cx,
            EventKind::AwaitingHuman,
            "rollguard",
            reason.clone(),
        );
        cx.fx.push(Effect::Notify {
            kind: EventKind::AwaitingHuman,
            message: format!("{}: {reason}", self.rollout.name),
        });
    }

    fn finish(
        &self,
        st: &mut RolloutState,
        cx: &mut Ctx<'_>,
        outcome: Outcome,
        actor: &str,
        reason: String,
    ) {
        let kind = match outcome {
            Outcome::Promoted => EventKind::Promoted,
            Outcome::RolledBack => EventKind::RolledBack,
            Outcome::Aborted => EventKind::Aborted,
            Outcome::Frozen => EventKind::Frozen,
        };
        let verdicts = st.verdicts(true);
        st.status = Status::Done {
            outcome,
            at: cx.now,
            reason: reason.clone(),
        };
        self.record_with(st, cx, kind, actor, reason.clone(), verdicts);
        let after = match outcome {
            Outcome::Promoted => Some(HookStage::PostPromote),
            Outcome::RolledBack => Some(HookStage::OnRollback),
            Outcome::Aborted | Outcome::Frozen => None,
        };
        if let Some(stage) = after.filter(|s| !self.rollout.hooks.stage(*s).is_empty()) {
            cx.fx.push(Effect::RunHook {
                stage,
                step_index: st.step_index,
            });
        }
        cx.fx.push(Effect::Notify {
            kind,
            message: format!("{}: {reason}", self.rollout.name),
        });
        cx.fx.push(Effect::Finished { outcome });
    }

    fn record(
        &self,
        st: &RolloutState,
        cx: &mut Ctx<'_>,
        kind: EventKind,
        actor: &str,
        rationale: String,
    ) {
        self.push_record(st, cx, kind, actor, rationale, Vec::new(), None);
    }

    fn record_with(
        &self,
        st: &RolloutState,
        cx: &mut Ctx<'_>,
        kind: EventKind,
        actor: &str,
        rationale: String,
        verdicts: Vec<Verdict>,
    ) {
        self.push_record(st, cx, kind, actor, rationale, verdicts, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_record(
        &self,
        st: &RolloutState,
        cx: &mut Ctx<'_>,
        kind: EventKind,
        actor: &str,
        rationale: String,
        verdicts: Vec<Verdict>,
        policy: Option<serde_json::Value>,
    ) {
        cx.fx.push(Effect::Record(Record {
            at: cx.now,
            kind,
            actor: actor.to_string(),
            step_index: st.step_index,
            weight: st.weight,
            rationale,
            verdicts,
            observation: None,
            policy,
        }));
    }
}

fn pct(x: Option<f64>) -> String {
    x.map(|r| format!("{:.3}%", 100.0 * r))
        .unwrap_or_else(|| "n/a".into())
}

fn ratio_interval(v: &Verdict) -> String {
    match v.interval {
        Some((lo, hi)) if hi.is_finite() => format!(" (CI {lo:.2}-{hi:.2})"),
        Some((lo, _)) => format!(" (CI {lo:.2}-inf)"),
        None => String::new(),
    }
}

/// One sentence on why a metric failed.
pub fn explain_failure(v: &Verdict) -> String {
    format!(
        "{}: canary bad rate {} vs baseline {} ({} of {} canary requests), ratio {}{}; evidence e={:.1} reached the 1/alpha threshold {:.0}",
        v.metric,
        pct(v.canary_rate),
        pct(v.baseline_rate),
        v.canary.bad,
        v.canary.total,
        v.estimate
            .map(|e| format!("{e:.2}x"))
            .unwrap_or_else(|| "n/a".into()),
        ratio_interval(v),
        v.e_value,
        v.threshold
    )
}

/// One sentence on a metric at a pass.
pub fn explain_pass(v: &Verdict) -> String {
    format!(
        "{}: canary {} vs baseline {} over {} canary requests, within margin",
        v.metric,
        pct(v.canary_rate),
        pct(v.baseline_rate),
        v.canary.total
    )
}

/// An e-value for people: `0.82`, `14.3`, `3.1e5`.
pub fn fmt_e(e: f64) -> String {
    if !e.is_finite() {
        "inf".into()
    } else if e >= 1e4 {
        format!("{e:.1e}")
    } else if e >= 10.0 {
        format!("{e:.1}")
    } else {
        format!("{e:.2}")
    }
}
