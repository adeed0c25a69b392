//! `rollguard bench ledger`: append throughput with concurrent appenders
//! (group commit) and verification time, on either backend.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{LedgerError, Result};
use crate::event::NewEvent;
use crate::ledger::Ledger;

/// Figures of one benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub backend: String,
    pub location: String,
    /// Events appended by this run.
    pub appended: u64,
    pub concurrency: usize,
    pub append_secs: f64,
    pub appends_per_sec: f64,
    /// Events verified (everything stored, including earlier runs' events).
    pub verified: u64,
    pub verify_secs: f64,
    pub verify_events_per_sec: f64,
    pub verify_ok: bool,
    /// Group-commit transactions during the append phase.
    pub commits: u64,
    /// Mean events per commit.
    pub events_per_commit: f64,
    /// Mean time inside one commit transaction, milliseconds.
    pub mean_commit_ms: f64,
}

/// A decision event of realistic size (aggregated counts, e-values, policy).
pub fn sample_event(rollout: &str, i: u64) -> NewEvent {
    NewEvent {
        time_ms: 1_700_000_000_000 + i as i64,
        rollout: rollout.to_string(),
        kind: "decision".into(),
        actor: "bench".into(),
        idempotency_key: Some(format!("{rollout}/{i}")),
        inputs: json!({
            "window_ms": 10_000,
            "baseline": {"requests": 9_000 + i % 97, "errors": 9, "latency_p99_ms": 212.5},
            "canary": {"requests": 1_000 + i % 13, "errors": 1, "latency_p99_ms": 219.0},
            "freshness_ms": 350
        }),
        statistics: json!({
            "errors": {"verdict": "continue", "e_value": 1.73, "effect": 0.02, "ci": [-0.4, 0.9]},
            "latency": {"verdict": "continue", "e_value": 0.88}
        }),
        policy: Some(json!({"bundle": "sha256:5e1f", "result": "allow"})),
        rationale: "no metric crossed its threshold; evidence still accumulating".into(),
    }
}

/// Appends `n_events` from `concurrency` tasks (each awaiting its own
/// append, so group commit does the batching), then verifies the ledger.
pub async fn bench(location: &str, n_events: u64, concurrency: usize) -> Result<BenchReport> {
    let ledger = Ledger::open(location).await?;
    let concurrency = concurrency.max(1);
    let run = format!("bench-{}", std::process::id());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency as u64 {
        let ledger = ledger.clone();
        let rollout = format!("{run}-{worker}");
        let count =
            n_events / concurrency as u64 + u64::from(worker < n_events % concurrency as u64);
        tasks.push(tokio::spawn(async move {
            for i in 0..count {
                ledger.append(sample_event(&rollout, i)).await?;
            }
            Ok::<_, LedgerError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| {
            LedgerError::io(location, "running a bench task", std::io::Error::other(e))
        })??;
    }
    let append_secs = start.elapsed().as_secs_f64();
    let stats = ledger.writer_stats();
    let start = Instant::now();
    let report = ledger.verify().await?;
    let verify_secs = start.elapsed().as_secs_f64();
    Ok(BenchReport {
        backend: ledger.backend().to_string(),
        location: ledger.location().to_string(),
        appended: n_events,
        concurrency,
        append_secs,
        appends_per_sec: n_events as f64 / append_secs.max(1e-9),
        verified: report.events,
        verify_secs,
        verify_events_per_sec: report.events as f64 / verify_secs.max(1e-9),
        verify_ok: report.ok,
        commits: stats.commits,
        events_per_commit: stats.events as f64 / stats.commits.max(1) as f64,
        mean_commit_ms: stats.commit_micros as f64 / 1000.0 / stats.commits.max(1) as f64,
    })
}
