//! Runs the real engine on a virtual clock over synthetic traffic.
//!
//! Every tick (the rollout's telemetry interval) draws one window of traffic
//! per version at the canary weight in force ([`crate::traffic`]), turns it
//! into an [`Observation`] (or a no-data one for a gap or a missing scrape),
//! feeds it to [`Engine::step`] and applies the `SetWeight` effects to the
//! split of the next tick. A run ends when the engine finishes or the
//! scenario's duration is over (no person answers in simulation: a rollout
//! waiting for one stays `awaiting_human`).
//!
//! Deterministic for a seed: run `i` draws from `StdRng::seed_from_u64` of a
//! SplitMix64 mix of `(seed, i)`, so results do not depend on how rayon
//! schedules runs across threads.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use rollguard_core::spec::Rollout;
use rollguard_core::{
    AllowAll, Effect, Engine, Input, Millis, Observation, Outcome, RolloutState, Status,
    VersionWindow, format_millis,
};
use serde::{Deserialize, Serialize};

use crate::reference::{JudgeChoice, ReferenceJudges};
use crate::scenario::{Scenario, Truth};
use crate::summary::{Rate, Spread};
use crate::traffic::Traffic;

/// How one simulated rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Promoted,
    RolledBack,
    Frozen,
    Aborted,
    /// Held for a person (no-data timeout, maxDuration with `wait`, policy).
    AwaitingHuman,
    /// Still analysing when the scenario's time ran out.
    Undecided,
}

impl From<Outcome> for RunOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Promoted => RunOutcome::Promoted,
            Outcome::RolledBack => RunOutcome::RolledBack,
            Outcome::Aborted => RunOutcome::Aborted,
            Outcome::Frozen => RunOutcome::Frozen,
        }
    }
}

/// One simulated rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run: usize,
    pub outcome: RunOutcome,
    /// When the engine finished (ms from the start).
    pub decided_at_ms: Option<Millis>,
    /// Canary requests and failed canary requests served until the end.
    pub canary_requests: u64,
    pub canary_errors: u64,
    /// The same, counted from the start of the regression (regressed scenarios).
    pub canary_requests_regressed: u64,
    pub canary_errors_regressed: u64,
    /// Rolled back a regressed canary: time from the regression start.
    pub detection_delay_ms: Option<Millis>,
    pub time_to_promote_ms: Option<Millis>,
}

/// Aggregates over runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSummary {
    pub promoted: u64,
    pub rolled_back: u64,
    pub frozen: u64,
    pub awaiting_human: u64,
    pub undecided: u64,
    /// Share of runs rolled back (or frozen), with a 95% Clopper-Pearson interval:
    /// false rollbacks for a healthy canary, detections for a regressed one.
    pub rollback_rate: Rate,
    /// Regressed and rolled back: canary requests served since the regression.
    pub delay_requests: Option<Spread>,
    pub delay_seconds: Option<Spread>,
    /// Failed canary requests served since the regression (all regressed runs).
    pub bad_served: Option<Spread>,
    /// Promoted runs: seconds to promotion.
    pub promote_seconds: Option<Spread>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    pub rollout: String,
    pub scenario: String,
    pub judge: JudgeChoice,
    pub truth: Truth,
    pub seed: u64,
    pub runs: usize,
    pub summary: SimSummary,
    pub results: Vec<RunResult>,
}

/// SplitMix64: decorrelates the per-run seeds.
pub fn mix_seed(seed: u64, run: u64) -> u64 {
    let mut z = seed ^ run.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Simulates `runs` rollouts of `rollout` over `scenario` with `judge`, in parallel.
pub fn simulate(
    rollout: &Rollout,
    scenario: &Scenario,
    runs: usize,
    seed: u64,
    judge: JudgeChoice,
) -> SimReport {
    simulate_with(
        rollout,
        scenario,
        runs,
        seed,
        ReferenceJudges::new(judge, scenario),
    )
}

/// As [`simulate`], with a configured judge factory (e.g. `fast_pass` off).
pub fn simulate_with(
    rollout: &Rollout,
    scenario: &Scenario,
    runs: usize,
    seed: u64,
    judges: ReferenceJudges,
) -> SimReport {
    let judge = judges.choice;
    let engine = Engine::with_judges(Arc::new(rollout.clone()), Box::new(judges));
    let results: Vec<RunResult> = (0..runs)
        .into_par_iter()
        .map(|i| run_one(&engine, scenario, i, mix_seed(seed, i as u64)))
        .collect();
    SimReport {
        rollout: rollout.name.clone(),
        scenario: scenario.name.clone(),
        judge,
        truth: scenario.truth,
        seed,
        runs,
        summary: summarize(scenario, &results),
        results,
    }
}

fn apply(effects: &[Effect], weight: &mut f64) {
    for fx in effects {
        if let Effect::SetWeight { weight: w, .. } = fx {
            *weight = *w;
        }
    }
}

/// Hooks are not run in simulation or replay: each requested stage is
/// answered at once as passed, so a rollout with pre-hooks does not hold.
pub fn answer_hooks(
    engine: &Engine,
    mut st: RolloutState,
    fx: Vec<Effect>,
    now: Millis,
) -> (RolloutState, Vec<Effect>) {
    let mut all = Vec::new();
    let mut pending = fx;
    // Bounded: each stage is answered once per step.
    for _ in 0..16 {
        let hooks: Vec<_> = pending
            .iter()
            .filter_map(|e| match e {
                Effect::RunHook { stage, step_index } => Some((*stage, *step_index)),
                _ => None,
            })
            .collect();
        all.append(&mut pending);
        if hooks.is_empty() || st.is_done() {
            break;
        }
        for (stage, step_index) in hooks {
            let result = rollguard_core::engine::HookResult {
                stage,
                step_index,
                ok: true,
                detail: "hooks are not run in simulation".into(),
            };
            let (next, fx) = engine.step(st, Input::HookResult(result), now, &mut AllowAll);
            st = next;
            pending.extend(fx);
        }
    }
    (st, all)
}

/// One rollout on the virtual clock.
pub fn run_one(engine: &Engine, scenario: &Scenario, run: usize, seed: u64) -> RunResult {
    let rollout = &engine.rollout;
    let interval = rollout.telemetry.interval.max(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut traffic = Traffic::new(scenario);
    let regression = scenario.regression_start();
    let (st, fx) = engine.start(0, &mut AllowAll);
    let (mut st, fx) = answer_hooks(engine, st, fx, 0);
    let mut weight = 0.0;
    apply(&fx, &mut weight);
    let mut b = VersionWindow::default();
    let mut c = VersionWindow::default();
    let mut res = RunResult {
        run,
        outcome: RunOutcome::Undecided,
        decided_at_ms: None,
        canary_requests: 0,
        canary_errors: 0,
        canary_requests_regressed: 0,
        canary_errors_regressed: 0,
        detection_delay_ms: None,
        time_to_promote_ms: None,
    };
    let mut start: Millis = 0;
    while !st.is_done() && start + interval <= scenario.duration {
        let end = start + interval;
        let draw = traffic.draw(&mut rng, start, end, weight, &mut b, &mut c);
        res.canary_requests += c.requests;
        res.canary_errors += c.errors;
        if regression.is_some_and(|r| start >= r) {
            res.canary_requests_regressed += c.requests;
            res.canary_errors_regressed += c.errors;
        }
        let obs = if draw.missing {
            Observation::no_data(rollout, start, end, "scrape missing (simulated)")
        } else {
            Observation::from_versions(rollout, start, end, &b, &c)
        };
        let (next, fx) = engine.step(st, Input::Observe(obs), end, &mut AllowAll);
        let (next, fx) = answer_hooks(engine, next, fx, end);
        st = next;
        apply(&fx, &mut weight);
        start = end;
    }
    finish(&st, regression, &mut res);
    res
}

fn finish(st: &RolloutState, regression: Option<Millis>, res: &mut RunResult) {
    match &st.status {
        Status::Done { outcome, at, .. } => {
            res.outcome = (*outcome).into();
            res.decided_at_ms = Some(*at);
            match outcome {
                Outcome::Promoted => res.time_to_promote_ms = Some(*at),
                Outcome::RolledBack | Outcome::Frozen => {
                    if let Some(r) = regression {
                        res.detection_delay_ms = Some(at.saturating_sub(r));
                    }
                }
                Outcome::Aborted => {}
            }
        }
        Status::AwaitingHuman { .. } => res.outcome = RunOutcome::AwaitingHuman,
        Status::Progressing | Status::Paused { .. } => res.outcome = RunOutcome::Undecided,
    }
}

fn summarize(scenario: &Scenario, results: &[RunResult]) -> SimSummary {
    let count = |o: RunOutcome| results.iter().filter(|r| r.outcome == o).count() as u64;
    let failed = count(RunOutcome::RolledBack) + count(RunOutcome::Frozen);
    let regressed = scenario.truth == Truth::Regressed;
    let detected: Vec<&RunResult> = results
        .iter()
        .filter(|r| regressed && r.detection_delay_ms.is_some())
        .collect();
    let delay_requests: Vec<f64> = detected
        .iter()
        .map(|r| r.canary_requests_regressed as f64)
        .collect();
    let delay_seconds: Vec<f64> = detected
        .iter()
        .filter_map(|r| r.detection_delay_ms.map(|d| d as f64 / 1000.0))
        .collect();
    let bad: Vec<f64> = if regressed {
        results
            .iter()
            .map(|r| r.canary_errors_regressed as f64)
            .collect()
    } else {
        Vec::new()
    };
    let promote: Vec<f64> = results
        .iter()
        .filter_map(|r| r.time_to_promote_ms.map(|t| t as f64 / 1000.0))
        .collect();
    SimSummary {
        promoted: count(RunOutcome::Promoted),
        rolled_back: count(RunOutcome::RolledBack),
        frozen: count(RunOutcome::Frozen),
        awaiting_human: count(RunOutcome::AwaitingHuman),
        undecided: count(RunOutcome::Undecided),
        rollback_rate: Rate::new(failed, results.len() as u64),
        delay_requests: Spread::of(&delay_requests),
        delay_seconds: Spread::of(&delay_seconds),
        bad_served: Spread::of(&bad),
        promote_seconds: Spread::of(&promote),
    }
}

fn secs(s: f64) -> String {
    format_millis((s * 1000.0).round() as Millis)
}

impl SimReport {
    /// A few lines for people.
    pub fn render_text(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "rollout {} over scenario {} ({:?}), judge {}, {} runs, seed {}\n",
            self.rollout, self.scenario, self.truth, self.judge, self.runs, self.seed
        );
        out += &format!(
            "outcomes: {} promoted, {} rolled back, {} frozen, {} awaiting a person, {} undecided\n",
            s.promoted, s.rolled_back, s.frozen, s.awaiting_human, s.undecided
        );
        let label = match self.truth {
            Truth::Healthy => "false-rollback rate",
            Truth::Regressed => "detection rate",
        };
        out += &format!(
            "{label}: {} (95% Clopper-Pearson)\n",
            s.rollback_rate.display()
        );
        if let (Some(r), Some(t)) = (s.delay_requests, s.delay_seconds) {
            out += &format!(
                "detection delay: mean {:.0} / median {:.0} / p90 {:.0} canary requests; mean {} / median {} / p90 {}\n",
                r.mean,
                r.median,
                r.p90,
                secs(t.mean),
                secs(t.median),
                secs(t.p90)
            );
        }
        if let Some(b) = s.bad_served {
            out += &format!(
                "failed canary requests served since the regression: mean {:.1}, p90 {:.0}\n",
                b.mean, b.p90
            );
        }
        if let Some(p) = s.promote_seconds {
            out += &format!(
                "time to promote: mean {} / median {} / p90 {}\n",
                secs(p.mean),
                secs(p.median),
                secs(p.p90)
            );
        }
        out
    }

    /// The summary as a markdown table.
    pub fn render_markdown(&self) -> String {
        let s = &self.summary;
        let opt = |x: Option<Spread>, f: &dyn Fn(Spread) -> String| x.map_or("—".into(), f);
        format!(
            "| judge | runs | promoted | rolled back | rollback rate (95% CI) | delay (canary req, mean/median/p90) | delay (mean/median/p90) | bad served (mean) | time to promote (median) |\n|---|---|---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            self.judge,
            self.runs,
            s.promoted,
            s.rolled_back + s.frozen,
            s.rollback_rate.display(),
            opt(s.delay_requests, &|r| format!(
                "{:.0} / {:.0} / {:.0}",
                r.mean, r.median, r.p90
            )),
            opt(s.delay_seconds, &|t| format!(
                "{} / {} / {}",
                secs(t.mean),
                secs(t.median),
                secs(t.p90)
            )),
            opt(s.bad_served, &|b| format!("{:.1}", b.mean)),
            opt(s.promote_seconds, &|p| secs(p.median)),
        )
    }
}
