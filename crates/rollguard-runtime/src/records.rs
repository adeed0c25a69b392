//! Engine records -> ledger events.
//!
//! Every step of the engine that changes anything produces records; the first
//! record of a step carries the step's input (`inputs.input`) and time
//! (`inputs.now`), so the ledger alone can re-run the engine: that is how a
//! crashed rollout resumes and how `replay --from-ledger` re-decides.
//! Idempotency keys are `rollout/run/counter`: a re-decided record has the
//! same key as the original, so it is never written twice.

use rollguard_core::{Input, Millis, Record, Rollout};
use rollguard_ledger::NewEvent;
use serde_json::json;

/// The first event of a run: the validated spec the engine runs.
pub fn started_event(rollout: &Rollout, run: Millis, record: &Record) -> NewEvent {
    NewEvent {
        time_ms: record.at as i64,
        rollout: rollout.name.clone(),
        kind: record.kind.as_str().to_string(),
        actor: record.actor.clone(),
        idempotency_key: Some(format!("{}/{run}/0", rollout.name)),
        inputs: json!({ "run": run, "now": record.at, "rollout": rollout }),
        statistics: json!({}),
        policy: record.policy.clone(),
        rationale: record.rationale.clone(),
    }
}

/// A record as a ledger event. `input` is given for the first record of a step.
pub fn event_from_record(
    rollout: &str,
    run: Millis,
    counter: u64,
    now: Millis,
    record: &Record,
    input: Option<&Input>,
) -> NewEvent {
    let mut inputs =
        json!({ "run": run, "now": now, "step_index": record.step_index, "weight": record.weight });
    if let Some(i) = input
        && let Some(map) = inputs.as_object_mut()
    {
        // An observation is kept once, as the input; aggregated counts and
        // histograms only, never request data.
        map.insert("input".into(), serde_json::to_value(i).unwrap_or_default());
    }
    NewEvent {
        time_ms: record.at as i64,
        rollout: rollout.to_string(),
        kind: record.kind.as_str().to_string(),
        actor: record.actor.clone(),
        idempotency_key: Some(format!("{rollout}/{run}/{counter}")),
        inputs,
        statistics: json!({ "verdicts": record.verdicts }),
        policy: record.policy.clone(),
        rationale: record.rationale.clone(),
    }
}
