//! The live loop: every telemetry interval it senses a window, steps the
//! engine, commits the records to the ledger, and only then applies the
//! weight to the router (write-ahead) and reports progress. Every tick it also
//! reconciles the router's observed weight with the engine's (level-triggered).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollguard_actuators::hooks::{HookContext, HookRunner};
use rollguard_core::engine::HookResult;
use rollguard_core::ports::Notifier;
use rollguard_core::spec::HookStage;
use rollguard_core::spec::OnRestart;
use rollguard_core::{
    AllowAll, Command, CommandKind, Effect, Engine, Gate, Input, Millis, Rollout, RolloutState,
    Status, Verdict,
};
use rollguard_ledger::{EventFilter, Ledger};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::records::{event_from_record, started_event};
use crate::resume::{latest_run, rebuild_state};
use crate::wiring::{Wiring, wire};
use crate::{RunError, RunSummary};

/// Resolves when the run should stop (Ctrl-C): the canary is then taken out first.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct RunOptions {
    pub ledger: Option<Ledger>,
    /// Who stops the run on the stop signal, for the record.
    pub operator: String,
    /// Resume an unfinished run of the same rollout from the ledger (default).
    pub resume: bool,
    /// Stop the loop (leaving the weight as it is) when the rollout waits for
    /// a person, instead of waiting with it.
    pub exit_when_waiting: bool,
    /// Checks every action that raises exposure (default: allow all).
    pub gate: Box<dyn Gate + Send>,
    /// Commands from people (approve, pause, abort...), e.g. from the API.
    pub commands: Option<mpsc::Receiver<Command>>,
    /// Where the loop publishes its status every tick.
    pub status: Option<watch::Sender<StatusView>>,
    pub notifier: Option<Arc<dyn Notifier>>,
    /// Use this router and source instead of the ones the spec names.
    pub wiring: Option<Wiring>,
}

impl RunOptions {
    pub fn new(ledger: Option<Ledger>) -> Self {
        RunOptions {
            ledger,
            operator: "operator".into(),
            resume: true,
            exit_when_waiting: false,
            gate: Box::new(AllowAll),
            commands: None,
            status: None,
            notifier: None,
            wiring: None,
        }
    }
}

/// A rollout's state for status displays and the API.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub rollout: String,
    pub service: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub step: usize,
    pub steps: usize,
    pub step_kind: String,
    pub weight: f64,
    pub state: Status,
    pub verdicts: Vec<Verdict>,
    pub started_at: Millis,
    pub updated_at: Millis,
    pub router: String,
    pub notes: Vec<String>,
}

impl StatusView {
    pub fn of(
        rollout: &Rollout,
        st: &RolloutState,
        now: Millis,
        router: String,
        notes: Vec<String>,
    ) -> Self {
        StatusView {
            rollout: rollout.name.clone(),
            service: rollout.service.clone(),
            labels: rollout.labels.clone(),
            step: (st.step_index + 1).min(rollout.steps.len()),
            steps: rollout.steps.len(),
            step_kind: rollout
                .steps
                .get(st.step_index)
                .map(|s| s.kind())
                .unwrap_or("promote")
                .into(),
            weight: st.weight,
            state: st.status.clone(),
            verdicts: st.verdicts(false),
            started_at: st.started_at,
            updated_at: now,
            router,
            notes,
        }
    }
}

/// What the progress display gets every tick.
pub struct Snapshot<'a> {
    pub rollout: &'a Rollout,
    pub state: &'a RolloutState,
    pub verdicts: &'a [Verdict],
    pub now: Millis,
    pub proxy_addr: Option<SocketAddr>,
}

pub trait Progress: Send {
    fn update(&mut self, snapshot: &Snapshot<'_>);
    fn message(&mut self, text: &str);
}

pub struct LiveRollout {
    rollout: Arc<Rollout>,
    engine: Engine,
    wiring: Wiring,
    ledger: Option<Ledger>,
    run: Millis,
    counter: u64,
    state: Option<RolloutState>,
    resumed: bool,
    opts_operator: String,
    exit_when_waiting: bool,
    gate: Box<dyn Gate + Send>,
    commands: Option<mpsc::Receiver<Command>>,
    status: Option<watch::Sender<StatusView>>,
    notifier: Option<Arc<dyn Notifier>>,
    hooks: HookRunner,
    hook_tx: mpsc::UnboundedSender<HookResult>,
    hook_rx: Option<mpsc::UnboundedReceiver<HookResult>>,
    notes: Vec<String>,
    router_failures: u32,
}

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl LiveRollout {
    /// Checks the endpoints, starts the router and source and (with a ledger)
    /// resumes an unfinished run of the same rollout. No traffic moves before
    /// this succeeds.
    pub async fn prepare(rollout: Arc<Rollout>, opts: RunOptions) -> Result<LiveRollout, RunError> {
        let wiring = match opts.wiring {
            Some(w) => w,
            None => wire(&rollout).await?,
        };
        let engine = Engine::new(rollout.clone());
        let (hook_tx, hook_rx) = mpsc::unbounded_channel();
        let mut live = LiveRollout {
            rollout: rollout.clone(),
            engine,
            wiring,
            ledger: opts.ledger,
            run: 0,
            counter: 0,
            state: None,
            resumed: false,
            opts_operator: opts.operator,
            exit_when_waiting: opts.exit_when_waiting,
            gate: opts.gate,
            commands: opts.commands,
            status: opts.status,
            notifier: opts.notifier,
            hooks: HookRunner::new(),
            hook_tx,
            hook_rx: Some(hook_rx),
            notes: Vec::new(),
            router_failures: 0,
        };
        live.resume_or_start(opts.resume).await?;
        Ok(live)
    }

    pub fn proxy_addr(&self) -> Option<SocketAddr> {
        self.wiring.proxy_addr()
    }

    pub fn resumed(&self) -> bool {
        self.resumed
    }

    pub fn rollout(&self) -> &Arc<Rollout> {
        &self.rollout
    }

    async fn resume_or_start(&mut self, resume: bool) -> Result<(), RunError> {
        let now = now_ms();
        if let Some(ledger) = self.ledger.as_ref().filter(|_| resume) {
            let events = ledger
                .events(EventFilter {
                    rollout: Some(self.rollout.name.clone()),
                    ..EventFilter::default()
                })
                .await?;
            if let Some((run, of_run)) = latest_run(&events) {
                let finished = of_run.iter().any(|e| {
                    matches!(
                        e.kind.as_str(),
                        "promoted" | "rolled_back" | "aborted" | "frozen"
                    )
                });
                if !finished {
                    let resumed =
                        rebuild_state(&of_run, Some(self.rollout.clone()), &|r| Engine::new(r))?;
                    tracing::info!(
                        rollout = %self.rollout.name,
                        run,
                        inputs = resumed.replayed_inputs,
                        step = resumed.state.step_index + 1,
                        weight = resumed.state.weight,
                        "resuming from the ledger"
                    );
                    self.run = run;
                    self.counter = resumed.counter;
                    let weight = resumed.state.weight;
                    self.state = Some(resumed.state);
                    self.resumed = true;
                    // A blocking hook asked for but never reported: run it again.
                    if let Some((stage, index)) = self.state.as_ref().and_then(|s| s.hook_pending) {
                        self.run_hook(stage, index, now).await?;
                    }
                    // Level-triggered: the router gets the weight the engine holds.
                    self.apply_weight(weight).await;
                    if self.rollout.on_restart == OnRestart::Rollback {
                        let c = Command {
                            kind: CommandKind::Rollback,
                            by: "rollguard".into(),
                            comment: Some("restarted mid-rollout and onRestart is rollback".into()),
                        };
                        self.step(Input::Command(c), now).await?;
                    }
                    return Ok(());
                }
            }
        }
        self.run = now;
        let (state, fx) = self.engine.start(now, self.gate.as_mut());
        self.state = Some(state);
        self.apply(fx, None, now, true).await
    }

    async fn step(&mut self, input: Input, now: Millis) -> Result<(), RunError> {
        let Some(state) = self.state.take() else {
            return Ok(());
        };
        let (state, fx) = self
            .engine
            .step(state, input.clone(), now, self.gate.as_mut());
        self.state = Some(state);
        self.apply(fx, Some(input), now, false).await
    }

    /// Write-ahead: records are committed before weights are applied.
    async fn apply(
        &mut self,
        fx: Vec<Effect>,
        input: Option<Input>,
        now: Millis,
        start: bool,
    ) -> Result<(), RunError> {
        let mut events = Vec::new();
        let mut first = true;
        for e in &fx {
            if let Effect::Record(r) = e {
                let ev = if start && first {
                    started_event(&self.rollout, self.run, r)
                } else {
                    let input = if first { input.as_ref() } else { None };
                    event_from_record(&self.rollout.name, self.run, self.counter, now, r, input)
                };
                self.counter += 1;
                first = false;
                events.push(ev);
            }
        }
        if let Some(ledger) = &self.ledger
            && !events.is_empty()
        {
            ledger.append_batch(events).await?;
        }
        for e in fx {
            match e {
                Effect::SetWeight { weight, key } => {
                    tracing::info!(rollout = %self.rollout.name, weight, %key, "set canary weight");
                    self.apply_weight(weight).await;
                }
                Effect::Notify { kind, message } => {
                    tracing::info!(rollout = %self.rollout.name, kind = kind.as_str(), "notify: {message}");
                    if let Some(n) = &self.notifier {
                        n.notify(&self.rollout.name, kind.as_str(), &message);
                    }
                }
                Effect::RunHook { stage, step_index } => {
                    self.run_hook(stage, step_index, now).await?;
                }
                Effect::Record(_) | Effect::Finished { .. } => {}
            }
        }
        Ok(())
    }

    /// Runs the hooks of a stage. Blocking stages run in the background and
    /// come back as an engine input (the loop keeps judging meanwhile); the
    /// after-outcome stages run now, after the outcome's weight was applied,
    /// and are recorded in the ledger directly.
    async fn run_hook(
        &mut self,
        stage: HookStage,
        step_index: usize,
        now: Millis,
    ) -> Result<(), RunError> {
        let hooks = self.rollout.hooks.stage(stage).to_vec();
        let ctx = HookContext {
            rollout: self.rollout.name.clone(),
            service: self.rollout.service.clone(),
            stage,
            step: step_index + 1,
            weight: self.state.as_ref().map(|s| s.weight).unwrap_or(0.0),
        };
        tracing::info!(rollout = %self.rollout.name, stage = stage.as_str(), hooks = hooks.len(), "running hooks");
        if stage.blocks() {
            let runner = self.hooks.clone();
            let tx = self.hook_tx.clone();
            tokio::spawn(async move {
                let (ok, outcomes) = runner.run_stage(&hooks, &ctx).await;
                let detail = outcomes
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                let _ = tx.send(HookResult {
                    stage,
                    step_index,
                    ok,
                    detail,
                });
            });
            return Ok(());
        }
        let (ok, outcomes) = self.hooks.run_stage(&hooks, &ctx).await;
        let detail = outcomes
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        let rationale = format!(
            "{stage} hooks (step {}) {}: {detail}",
            step_index + 1,
            if ok { "passed" } else { "failed" }
        );
        if !ok {
            tracing::warn!(rollout = %self.rollout.name, "{rationale}");
            self.notes.push(rationale.clone());
            if let Some(n) = &self.notifier {
                n.notify(&self.rollout.name, "hook_failed", &rationale);
            }
        }
        if let Some(ledger) = &self.ledger {
            let event = rollguard_ledger::NewEvent {
                time_ms: now_ms() as i64,
                rollout: self.rollout.name.clone(),
                kind: rollguard_core::EventKind::HookRan.as_str().to_string(),
                actor: "hook".into(),
                idempotency_key: Some(format!(
                    "{}/{}/hook/{stage}/{now}",
                    self.rollout.name, self.run
                )),
                inputs: serde_json::json!({ "run": self.run, "now": now, "stage": stage, "step_index": step_index, "outcomes": outcomes }),
                statistics: serde_json::json!({}),
                policy: None,
                rationale,
            };
            ledger.append_batch(vec![event]).await?;
        }
        Ok(())
    }

    /// Applies a weight with retries and backoff; failures are reconciled on
    /// later ticks (the engine's weight is the desired state).
    async fn apply_weight(&mut self, weight: f64) {
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=4 {
            match self.wiring.router.set_weight(weight).await {
                Ok(()) => {
                    self.router_failures = 0;
                    return;
                }
                Err(e) => {
                    tracing::warn!(rollout = %self.rollout.name, attempt, error = %e, "router did not take the weight");
                    if !e.retryable {
                        break;
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        self.router_failures += 1;
    }

    /// Compares the router's weight with the engine's and repairs drift.
    async fn reconcile(&mut self, now: Millis) -> Result<(), RunError> {
        let Some(want) = self.state.as_ref().map(|s| s.weight) else {
            return Ok(());
        };
        match self.wiring.router.observed_weight().await {
            Ok(have) if (have - want).abs() < 0.5 => {
                self.router_failures = 0;
            }
            Ok(have) => {
                tracing::warn!(rollout = %self.rollout.name, have, want, "router weight drifted; re-applying");
                self.apply_weight(want).await;
            }
            Err(e) => {
                self.router_failures += 1;
                self.notes.push(format!("router: {e}"));
            }
        }
        // A router that keeps failing escalates: hold (pause) and tell a person.
        if self.router_failures >= 5
            && self
                .state
                .as_ref()
                .is_some_and(|s| s.status == Status::Progressing)
        {
            let c = Command {
                kind: CommandKind::Pause,
                by: "rollguard".into(),
                comment: Some(format!(
                    "the router ({}) keeps failing; holding",
                    self.wiring.router.describe()
                )),
            };
            self.step(Input::Command(c), now).await?;
            if let Some(n) = &self.notifier {
                n.notify(
                    &self.rollout.name,
                    "router_failed",
                    "the router keeps failing; rollout paused",
                );
            }
        }
        Ok(())
    }

    fn publish(&self, now: Millis) {
        if let (Some(tx), Some(st)) = (&self.status, &self.state) {
            let _ = tx.send(StatusView::of(
                &self.rollout,
                st,
                now,
                self.wiring.router.describe(),
                self.notes.clone(),
            ));
        }
    }

    /// Runs until a terminal outcome or the stop signal.
    pub async fn run(
        mut self,
        progress: &mut dyn Progress,
        mut stop: StopSignal,
    ) -> Result<RunSummary, RunError> {
        let interval = Duration::from_millis(self.rollout.telemetry.interval);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut window_start = now_ms();
        let started = window_start;
        // Drop what the source gathered before the loop began.
        let _ = self
            .wiring
            .source
            .sense(&self.rollout, window_start, window_start)
            .await;
        let canary_before = self
            .state
            .as_ref()
            .map(|s| (s.canary_requests, s.canary_errors))
            .unwrap_or((0, 0));
        let mut first_canary: Option<Millis> = None;
        let mut last_canary: Option<Millis> = None;
        let mut last_notes: Vec<String> = Vec::new();
        let mut stopped = false;
        let mut commands = self.commands.take();
        let mut hook_results = self.hook_rx.take();
        self.publish(started);
        loop {
            if self.state.as_ref().is_none_or(|s| s.is_done()) {
                break;
            }
            if self.exit_when_waiting
                && self
                    .state
                    .as_ref()
                    .is_some_and(|s| matches!(s.status, Status::AwaitingHuman { .. }))
            {
                break;
            }
            tokio::select! {
                _ = ticker.tick() => {
                    let now = now_ms();
                    let sensed = self.wiring.source.sense(&self.rollout, window_start, now).await;
                    window_start = now;
                    if !sensed.notes.is_empty() {
                        last_notes = sensed.notes.clone();
                    }
                    self.notes = sensed.notes;
                    let before = self.state.as_ref().map(|s| s.canary_requests).unwrap_or(0);
                    self.step(Input::Observe(sensed.observation), now).await?;
                    if self.state.as_ref().is_some_and(|s| s.canary_requests > before && s.weight > 0.0) {
                        first_canary.get_or_insert(now);
                    }
                    if self.state.as_ref().is_some_and(|s| s.canary_requests > before) {
                        last_canary = Some(now);
                    }
                    self.reconcile(now).await?;
                    self.publish(now);
                    if let Some(st) = &self.state {
                        let verdicts = st.verdicts(false);
                        progress.update(&Snapshot { rollout: &self.rollout, state: st, verdicts: &verdicts, now, proxy_addr: self.wiring.proxy_addr() });
                    }
                }
                Some(r) = async { match hook_results.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                    let now = now_ms();
                    progress.message(&format!("{} hooks {}", r.stage, if r.ok { "passed" } else { "failed" }));
                    self.step(Input::HookResult(r), now).await?;
                    self.publish(now);
                }
                Some(c) = async { match commands.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                    let now = now_ms();
                    progress.message(&format!("{:?} by {}", c.kind, c.by));
                    self.step(Input::Command(c), now).await?;
                    self.publish(now);
                }
                _ = &mut stop, if !stopped => {
                    stopped = true;
                    progress.message("stop requested: taking the canary out of traffic");
                    let by = self.opts_operator.clone();
                    let c = Command { kind: CommandKind::Abort, by, comment: Some("interrupted (SIGINT)".into()) };
                    self.step(Input::Command(c), now_ms()).await?;
                    self.publish(now_ms());
                }
            }
        }
        let Some(state) = self.state.take() else {
            return Err(RunError::Resume {
                rollout: self.rollout.name.clone(),
                reason: "no state".into(),
            });
        };
        let (status, reason) = match &state.status {
            Status::Done { reason, .. } => ("done".to_string(), reason.clone()),
            Status::AwaitingHuman { reason } => ("awaiting_human".into(), reason.clone()),
            Status::Paused { by } => ("paused".into(), format!("paused by {by}")),
            Status::Progressing => ("progressing".into(), String::new()),
        };
        let note_for = |who: &str| last_notes.iter().find(|n| n.starts_with(who)).cloned();
        let summary = RunSummary {
            rollout: self.rollout.name.clone(),
            outcome: state.outcome(),
            status,
            reason,
            run: self.run,
            duration_ms: now_ms().saturating_sub(started),
            final_weight: state.weight,
            canary_requests: state.canary_requests - canary_before.0,
            canary_errors: state.canary_errors - canary_before.1,
            canary_exposure_ms: match (first_canary, last_canary) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => 0,
            },
            verdicts: state.verdicts(true),
            ledger: self.ledger.as_ref().map(|l| l.location().to_string()),
            events_written: self.counter,
            resumed: self.resumed,
            canary_last_error: note_for("canary"),
            baseline_last_error: note_for("baseline"),
        };
        self.state = Some(state);
        self.publish(now_ms());
        if let Some(p) = self.wiring.proxy.take() {
            p.shutdown(Duration::from_secs(5)).await;
        }
        if let Some(l) = self.ledger.take() {
            l.close().await?;
        }
        Ok(summary)
    }
}
