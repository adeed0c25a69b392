//! Runs one mandated rollout with the runtime's live loop: the builtin
//! router and telemetry the spec names, the agent's on-disk buffer as its
//! ledger (so a restarted agent resumes the run), and a [`MandateGate`] in
//! front of the policy gate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rollguard_controller::protocol::Mandate;
use rollguard_core::{Command, Gate, Rollout, Status};
use rollguard_ledger::{EventFilter, Ledger};
use rollguard_runtime::{LiveRollout, Progress, RunOptions, Snapshot, StatusView, StopSignal};
use tokio::sync::{Notify, mpsc, watch};

use crate::gate::MandateGate;
use crate::lease::Lease;

/// A rollout this agent runs.
pub struct RunningRollout {
    pub rollout: Arc<Rollout>,
    pub spec_hash: String,
    pub lease: Arc<Lease>,
    pub commands: mpsc::Sender<Command>,
    pub status: watch::Receiver<StatusView>,
    pub done: Arc<AtomicBool>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("mandate for {rollout}: the spec does not validate: {message}")]
    Spec { rollout: String, message: String },
    #[error("rollout {rollout}: {source}")]
    Run {
        rollout: String,
        #[source]
        source: rollguard_runtime::RunError,
    },
    #[error("rollout {rollout}: reading the buffer: {source}")]
    Buffer {
        rollout: String,
        #[source]
        source: rollguard_ledger::LedgerError,
    },
}

/// Validates the mandate's spec.
pub fn mandate_rollout(m: &Mandate) -> Result<Rollout, StartError> {
    rollguard_core::spec::load(&m.spec_yaml, &format!("mandate:{}", m.rollout)).map_err(|e| {
        StartError::Spec {
            rollout: m.rollout.clone(),
            message: e.to_string(),
        }
    })
}

/// Whether the buffer already holds a finished run of exactly this spec (so
/// a restarted agent does not run it again while the controller has not yet
/// received the outcome).
pub async fn finished_in_buffer(buffer: &Ledger, rollout: &Rollout) -> Result<bool, StartError> {
    let events = buffer
        .events(EventFilter {
            rollout: Some(rollout.name.clone()),
            ..EventFilter::default()
        })
        .await
        .map_err(|source| StartError::Buffer {
            rollout: rollout.name.clone(),
            source,
        })?;
    let Some((_, run)) = rollguard_runtime::resume::latest_run(&events) else {
        return Ok(false);
    };
    let spec = serde_json::to_value(rollout).unwrap_or_default();
    let same = run
        .iter()
        .find(|e| e.kind == "started")
        .and_then(|e| e.inputs.get("rollout"))
        .is_some_and(|r| *r == spec);
    let finished = run
        .iter()
        .any(|e| rollguard_controller::registry::TERMINAL_KINDS.contains(&e.kind.as_str()));
    Ok(same && finished)
}

struct LogProgress {
    rollout: String,
    wake: Arc<Notify>,
}

impl Progress for LogProgress {
    fn update(&mut self, _: &Snapshot<'_>) {
        // A tick wrote events to the buffer: let the shipper send them.
        self.wake.notify_one();
    }
    fn message(&mut self, text: &str) {
        tracing::info!(rollout = %self.rollout, "{text}");
    }
}

fn initial_status(r: &Rollout) -> StatusView {
    StatusView {
        rollout: r.name.clone(),
        service: r.service.clone(),
        labels: r.labels.clone(),
        step: 0,
        steps: r.steps.len(),
        step_kind: String::new(),
        weight: 0.0,
        state: Status::Progressing,
        verdicts: Vec::new(),
        started_at: 0,
        updated_at: 0,
        router: String::new(),
        notes: Vec::new(),
    }
}

/// Prepares the rollout (endpoints checked, proxy started, resumed from the
/// buffer if it was running) and spawns its loop.
pub async fn start(
    m: &Mandate,
    rollout: Rollout,
    sent: Instant,
    buffer: Ledger,
    principal: &str,
    inner_gate: Box<dyn Gate + Send>,
    wake: Arc<Notify>,
) -> Result<RunningRollout, StartError> {
    let rollout = Arc::new(rollout);
    let lease = Arc::new(Lease::from_mandate(m, sent));
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (status_tx, status_rx) = watch::channel(initial_status(&rollout));
    let mut opts = RunOptions::new(Some(buffer));
    opts.operator = principal.to_string();
    opts.resume = true;
    opts.gate = Box::new(MandateGate::new(
        lease.clone(),
        inner_gate,
        principal.to_string(),
    ));
    opts.commands = Some(cmd_rx);
    opts.status = Some(status_tx);
    let live = LiveRollout::prepare(rollout.clone(), opts)
        .await
        .map_err(|source| StartError::Run {
            rollout: rollout.name.clone(),
            source,
        })?;
    tracing::info!(
        rollout = %rollout.name,
        service = %rollout.service,
        proxy = ?live.proxy_addr(),
        resumed = live.resumed(),
        lease_ms = m.lease_ms,
        "running rollout under mandate"
    );
    let done = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop: StopSignal = Box::pin(async move {
        if stop_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    let name = rollout.name.clone();
    let finished = done.clone();
    let task = tokio::spawn(async move {
        let mut progress = LogProgress {
            rollout: name.clone(),
            wake: wake.clone(),
        };
        match live.run(&mut progress, stop).await {
            Ok(s) => tracing::info!(
                rollout = %name,
                outcome = ?s.outcome,
                status = %s.status,
                reason = %s.reason,
                final_weight = s.final_weight,
                "rollout loop ended"
            ),
            Err(e) => tracing::error!(rollout = %name, error = %e, "rollout loop failed"),
        }
        finished.store(true, Ordering::Relaxed);
        wake.notify_one();
    });
    Ok(RunningRollout {
        rollout,
        spec_hash: m.spec_hash.clone(),
        lease,
        commands: cmd_tx,
        status: status_rx,
        done,
        stop: Some(stop_tx),
        task,
    })
}

/// Labels of a running rollout, for heartbeats.
pub fn status_name(s: &Status) -> &'static str {
    match s {
        Status::Progressing => "progressing",
        Status::AwaitingHuman { .. } => "awaiting_human",
        Status::Paused { .. } => "paused",
        Status::Done { .. } => "done",
    }
}
