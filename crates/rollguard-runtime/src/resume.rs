//! Rebuilding a rollout's state from its ledger events.
//!
//! The engine is a pure function of its inputs and their times, and every
//! input that changed anything is in the ledger. Feeding them back in order
//! rebuilds the exact state (step, timers, evidence) at the last event; the
//! records it produces again are compared with the recorded ones, which is
//! also what `replay --from-ledger` reports.

use std::sync::Arc;

use rollguard_core::{AllowAll, Effect, Engine, Input, Millis, Record, Rollout, RolloutState};
use rollguard_ledger::Event;
use serde::Serialize;

use crate::RunError;

/// A state rebuilt from the ledger.
pub struct Resumed {
    pub rollout: Arc<Rollout>,
    pub run: Millis,
    pub state: RolloutState,
    /// Records the run has written (the next idempotency counter).
    pub counter: u64,
    pub last_now: Millis,
    /// Where re-deciding produced something other than what was recorded.
    pub mismatches: Vec<Mismatch>,
    pub replayed_inputs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub seq: u64,
    pub recorded: String,
    pub redecided: String,
}

/// The events of the latest run of `rollout` in `events` (which must be in seq order).
pub fn latest_run(events: &[Event]) -> Option<(Millis, Vec<&Event>)> {
    let run = events
        .iter()
        .rev()
        .find(|e| e.kind == "started")
        .and_then(|e| e.inputs.get("run"))
        .and_then(|r| r.as_u64())?;
    let of_run = events
        .iter()
        .filter(|e| e.inputs.get("run").and_then(|r| r.as_u64()) == Some(run))
        .collect();
    Some((run, of_run))
}

fn describe(r: &Record) -> String {
    format!(
        "{} at {}% (step {})",
        r.kind.as_str(),
        r.weight,
        r.step_index + 1
    )
}

/// Re-runs the engine over a run's events. `spec` overrides the recorded spec
/// (to test a changed rollout against recorded traffic).
pub fn rebuild_state(
    events: &[&Event],
    spec: Option<Arc<Rollout>>,
    make_engine: &dyn Fn(Arc<Rollout>) -> Engine,
) -> Result<Resumed, RunError> {
    let started = events
        .first()
        .filter(|e| e.kind == "started")
        .ok_or_else(|| RunError::Resume {
            rollout: events
                .first()
                .map(|e| e.rollout.clone())
                .unwrap_or_default(),
            reason: "the run has no `started` event".into(),
        })?;
    let bad = |reason: String| RunError::Resume {
        rollout: started.rollout.clone(),
        reason,
    };
    let recorded_spec: Rollout =
        serde_json::from_value(started.inputs.get("rollout").cloned().unwrap_or_default())
            .map_err(|e| bad(format!("the recorded rollout spec does not parse: {e}")))?;
    let rollout = spec.unwrap_or_else(|| Arc::new(recorded_spec));
    let run = started
        .inputs
        .get("run")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bad("no run id".into()))?;
    let start_now = started
        .inputs
        .get("now")
        .and_then(|v| v.as_u64())
        .unwrap_or(run);
    let engine = make_engine(rollout.clone());
    let (mut state, fx) = engine.start(start_now, &mut AllowAll);
    let mut redecided: Vec<Record> = records(fx);
    let mut replayed = 0;
    let mut last_now = start_now;
    for e in events.iter().skip(1) {
        let Some(input) = e.inputs.get("input") else {
            continue;
        };
        let input: Input = serde_json::from_value(input.clone()).map_err(|err| {
            bad(format!(
                "event {} has an input this engine cannot read: {err}",
                e.seq
            ))
        })?;
        let now = e
            .inputs
            .get("now")
            .and_then(|v| v.as_u64())
            .unwrap_or(e.time_ms.max(0) as u64);
        let (s, fx) = engine.step(state, input, now, &mut AllowAll);
        state = s;
        redecided.extend(records(fx));
        replayed += 1;
        last_now = now;
    }
    let mut mismatches = Vec::new();
    for (i, recorded) in events.iter().enumerate() {
        let mine = redecided.get(i);
        let recorded_desc = format!(
            "{} at {}% (step {})",
            recorded.kind,
            recorded
                .inputs
                .get("weight")
                .and_then(|w| w.as_f64())
                .unwrap_or(0.0),
            recorded
                .inputs
                .get("step_index")
                .and_then(|w| w.as_u64())
                .unwrap_or(0)
                + 1
        );
        let same = mine.is_some_and(|m| {
            m.kind.as_str() == recorded.kind
                && (i == 0
                    || recorded.inputs.get("weight").and_then(|w| w.as_f64()) == Some(m.weight))
        });
        if !same {
            mismatches.push(Mismatch {
                seq: recorded.seq,
                recorded: recorded_desc,
                redecided: mine.map(describe).unwrap_or_else(|| "nothing".into()),
            });
        }
    }
    if redecided.len() > events.len() {
        for r in &redecided[events.len()..] {
            mismatches.push(Mismatch {
                seq: 0,
                recorded: "nothing".into(),
                redecided: describe(r),
            });
        }
    }
    Ok(Resumed {
        rollout,
        run,
        counter: events.len() as u64,
        state,
        last_now,
        mismatches,
        replayed_inputs: replayed,
    })
}

fn records(fx: Vec<Effect>) -> Vec<Record> {
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}
