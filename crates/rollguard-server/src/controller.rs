//! The controller: every rollout the process runs, each a [`LiveRollout`]
//! task with its own command channel and status watch, sharing one ledger,
//! the policy and the global constraints (concurrent canaries per
//! environment, the global pause).
//!
//! The API calls these methods after authorising the caller; every accepted
//! act (start, command, global pause) and every refusal by policy is written
//! to the ledger with who did it and why.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rollguard_core::ports::Notifier;
use rollguard_core::{Command, CommandKind, Rollout, Status};
use rollguard_ledger::{Ledger, NewEvent};
use rollguard_policy::{ActionKind, PolicyDecision};
use rollguard_runtime::wiring::Wiring;
use rollguard_runtime::{
    ApprovalBook, EnvironmentFacts, EnvironmentProvider, LiveRollout, PolicyGate, Progress,
    RunOptions, RunSummary, Snapshot, StatusView, now_ms,
};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::policy::{PersonAction, Policy, check_person, next_weight};

/// Builds the router and telemetry of a rollout instead of the ones its spec
/// names (tests, embedders); `None` wires from the spec.
pub type WiringFactory = Arc<dyn Fn(&Rollout) -> Option<Wiring> + Send + Sync>;

/// What the controller is configured with.
pub struct ControllerConfig {
    pub ledger: Option<Ledger>,
    /// Bundle for rollouts that name none.
    pub policy: Policy,
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The agent identity policy sees for the loop's own actions.
    pub agent: String,
    /// Fraction of error budget left per service (policy's `error_budget_remaining`).
    pub error_budgets: BTreeMap<String, f64>,
}

/// A command a person sends to a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Approve,
    Pause,
    Resume,
    Promote { full: bool },
    Abort,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Approve => "approve",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Promote { .. } => "promote",
            Verb::Abort => "abort",
        }
    }
}

struct Handle {
    rollout: Arc<Rollout>,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<StatusView>,
    approvals: ApprovalBook,
    held_by_global_pause: Arc<AtomicBool>,
    policy: Policy,
    proxy: Option<std::net::SocketAddr>,
    finished: Arc<Mutex<Option<Result<RunSummary, String>>>>,
}

impl Handle {
    fn is_running(&self) -> bool {
        let done = self.finished.lock().map(|f| f.is_some()).unwrap_or(false);
        !done && !matches!(self.status.borrow().state, Status::Done { .. })
    }
}

#[derive(Default)]
struct Global {
    pause: bool,
    by: Option<String>,
    since: Option<u64>,
}

struct Inner {
    rollouts: Mutex<BTreeMap<String, Handle>>,
    global: Mutex<Global>,
    config: ControllerConfig,
    wiring: Option<WiringFactory>,
    starting: tokio::sync::Mutex<()>,
    shutdown: watch::Sender<bool>,
}

/// Status of one rollout, as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutStatus {
    #[serde(flatten)]
    pub view: StatusView,
    pub policy_bundle: String,
    /// Where the builtin proxy of this rollout listens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<std::net::SocketAddr>,
    /// Set once the loop ended with an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The global constraints, as the API returns them.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalStatus {
    pub global_pause: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<u64>,
    pub canaries_in_use: BTreeMap<String, u32>,
}

/// Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
}

struct LogProgress;

impl Progress for LogProgress {
    fn update(&mut self, _: &Snapshot<'_>) {}
    fn message(&mut self, text: &str) {
        tracing::info!("{text}");
    }
}

impl Controller {
    pub fn new(config: ControllerConfig) -> Self {
        Self::build(config, None)
    }

    /// A controller whose rollouts are wired by `wiring` (tests, embedders).
    pub fn with_wiring(config: ControllerConfig, wiring: WiringFactory) -> Self {
        Self::build(config, Some(wiring))
    }

    fn build(config: ControllerConfig, wiring: Option<WiringFactory>) -> Self {
        let (shutdown, _) = watch::channel(false);
        Controller {
            inner: Arc::new(Inner {
                rollouts: Mutex::new(BTreeMap::new()),
                global: Mutex::new(Global::default()),
                config,
                wiring,
                starting: tokio::sync::Mutex::new(()),
                shutdown,
            }),
        }
    }

    /// The facts every policy evaluation sees right now.
    pub fn facts(&self) -> EnvironmentFacts {
        facts_of(&self.inner)
    }

    fn provider(&self) -> EnvironmentProvider {
        let weak = Arc::downgrade(&self.inner);
        Arc::new(move || {
            weak.upgrade()
                .map(|inner| facts_of(&inner))
                .unwrap_or_default()
        })
    }

    pub fn global(&self) -> GlobalStatus {
        let facts = self.facts();
        let g = self.inner.global.lock();
        let (by, since) = g.map(|g| (g.by.clone(), g.since)).unwrap_or((None, None));
        GlobalStatus {
            global_pause: facts.global_pause,
            paused_by: by,
            paused_since: since,
            canaries_in_use: facts.canaries_in_use,
        }
    }

    pub fn statuses(&self) -> Vec<RolloutStatus> {
        self.inner
            .rollouts
            .lock()
            .map(|m| m.values().map(status_of).collect())
            .unwrap_or_default()
    }

    pub fn status(&self, name: &str) -> Option<RolloutStatus> {
        self.inner
            .rollouts
            .lock()
            .ok()
            .and_then(|m| m.get(name).map(status_of))
    }

    /// Checks `start` against policy (concurrency budget, error budget, global
    /// pause), then prepares and spawns the rollout. A bundle that does not
    /// compile refuses the start with the file and line.
    pub async fn start(
        &self,
        rollout: Rollout,
        caller: &Caller,
    ) -> Result<RolloutStatus, ApiError> {
        let _one_at_a_time = self.inner.starting.lock().await;
        let name = rollout.name.clone();
        if self
            .inner
            .rollouts
            .lock()
            .map(|m| m.get(&name).is_some_and(Handle::is_running))
            .unwrap_or(false)
        {
            return Err(ApiError::Conflict(format!(
                "rollout {name} is already running"
            )));
        }
        let policy = match &rollout.policy_bundle {
            Some(dir) => {
                Policy::load(std::path::Path::new(dir)).map_err(|e| ApiError::PolicyCompile {
                    message: format!("bundle {dir}: {e}"),
                })?
            }
            None => self.inner.config.policy.clone(),
        };
        let now = now_ms();
        let facts = self.facts();
        let check = check_person(
            &policy,
            &facts,
            &PersonAction {
                kind: ActionKind::Start,
                rollout: &rollout,
                status: None,
                to_weight: 0.0,
                caller,
                now,
            },
        );
        let decision = match check {
            Ok(d) => d,
            Err(e) => {
                self.record_refusal(&name, caller, "start", &e).await;
                return Err(e);
            }
        };
        let rollout = Arc::new(rollout);
        let (tx, rx) = mpsc::channel(32);
        let (status_tx, status_rx) = watch::channel(initial_status(&rollout, now));
        let approvals = ApprovalBook::default();
        let gate = PolicyGate::new(
            policy.engine.clone(),
            policy.timezone.clone(),
            self.provider(),
        )
        .with_principal(self.inner.config.agent.clone())
        .with_approvals(approvals.clone());
        let held = gate.held_by_global_pause();
        let mut opts = RunOptions::new(self.inner.config.ledger.clone());
        opts.operator = caller.name.clone();
        opts.gate = Box::new(gate);
        opts.commands = Some(rx);
        opts.status = Some(status_tx);
        opts.notifier = self.inner.config.notifier.clone();
        opts.wiring = self.inner.wiring.as_ref().and_then(|f| f(&rollout));
        self.record(
            &name,
            "start_requested",
            &caller.name,
            format!("{} started rollout {name}", caller.name),
            Some(&decision),
        )
        .await;
        let live = LiveRollout::prepare(rollout.clone(), opts).await;
        let live = match live {
            Ok(l) => l,
            Err(e) => {
                let e = ApiError::StartFailed {
                    rollout: name.clone(),
                    message: e.to_string(),
                };
                self.record(&name, "start_failed", &caller.name, e.to_string(), None)
                    .await;
                return Err(e);
            }
        };
        let finished = Arc::new(Mutex::new(None));
        let handle = Handle {
            rollout: rollout.clone(),
            commands: tx,
            status: status_rx,
            approvals,
            held_by_global_pause: held,
            policy,
            proxy: live.proxy_addr(),
            finished: finished.clone(),
        };
        let status = status_of(&handle);
        if let Ok(mut m) = self.inner.rollouts.lock() {
            m.insert(name.clone(), handle);
        }
        let mut shutdown = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            let stop: rollguard_runtime::StopSignal = Box::pin(async move {
                while !*shutdown.borrow_and_update() {
                    if shutdown.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            });
            let result = live.run(&mut LogProgress, stop).await;
            if let Err(e) = &result {
                tracing::error!(rollout = %name, error = %e, "rollout loop failed");
            }
            if let Ok(mut f) = finished.lock() {
                *f = Some(result.map_err(|e| e.to_string()));
            }
        });
        Ok(status)
    }

    /// Sends a person's command to a rollout after the policy check (abort is
    /// never checked). Returns once the rollout's loop has it queued.
    pub async fn command(
        &self,
        name: &str,
        verb: Verb,
        caller: &Caller,
        comment: Option<String>,
    ) -> Result<(), ApiError> {
        let (rollout, status, sender, approvals, policy) = {
            let m = self
                .inner
                .rollouts
                .lock()
                .map_err(|_| ApiError::Internal("rollout registry poisoned".into()))?;
            let h = m.get(name).ok_or_else(|| ApiError::NotFound(name.into()))?;
            if !h.is_running() {
                return Err(ApiError::Conflict(format!(
                    "rollout {name} has finished; nothing to {}",
                    verb.name()
                )));
            }
            (
                h.rollout.clone(),
                h.status.borrow().clone(),
                h.commands.clone(),
                h.approvals.clone(),
                h.policy.clone(),
            )
        };
        let kind = match verb {
            Verb::Approve => ActionKind::Approve,
            Verb::Pause => ActionKind::Pause,
            Verb::Resume => ActionKind::Resume,
            Verb::Promote { .. } => ActionKind::Promote,
            Verb::Abort => ActionKind::Abort,
        };
        let mut decision = None;
        if verb != Verb::Abort {
            let to_weight = match verb {
                Verb::Promote { full: true } => 100.0,
                Verb::Promote { full: false } => next_weight(&rollout, Some(&status)),
                _ => status.weight,
            };
            let check = check_person(
                &policy,
                &self.facts(),
                &PersonAction {
                    kind,
                    rollout: &rollout,
                    status: Some(&status),
                    to_weight,
                    caller,
                    now: now_ms(),
                },
            );
            match check {
                Ok(d) => decision = Some(d),
                Err(e) => {
                    self.record_refusal(name, caller, verb.name(), &e).await;
                    return Err(e);
                }
            }
        }
        let why = comment.as_deref().unwrap_or_default();
        match verb {
            Verb::Approve | Verb::Promote { full: false } => approvals.record(&caller.name, why),
            Verb::Promote { full: true } => approvals.record_full_promotion(&caller.name, why),
            Verb::Pause | Verb::Resume | Verb::Abort => {}
        }
        if let Some(d) = &decision {
            self.record(
                name,
                "command_allowed",
                &caller.name,
                format!("policy allowed {} by {}", verb.name(), caller.name),
                Some(d),
            )
            .await;
        }
        let command = Command {
            kind: match verb {
                Verb::Approve => CommandKind::Approve,
                Verb::Pause => CommandKind::Pause,
                Verb::Resume => CommandKind::Resume,
                Verb::Promote { full: false } => CommandKind::Promote,
                Verb::Promote { full: true } => CommandKind::PromoteFull,
                Verb::Abort => CommandKind::Abort,
            },
            by: caller.name.clone(),
            comment,
        };
        sender
            .send(command)
            .await
            .map_err(|_| ApiError::Conflict(format!("rollout {name} has stopped")))
    }

    /// The big red button: no rollout may raise its weight until it is lifted.
    pub async fn pause_all(&self, caller: &Caller, comment: Option<String>) -> GlobalStatus {
        if let Ok(mut g) = self.inner.global.lock() {
            g.pause = true;
            g.by = Some(caller.name.clone());
            g.since = Some(now_ms());
        }
        let why = comment.map(|c| format!(": {c}")).unwrap_or_default();
        self.record(
            "*",
            "global_pause",
            &caller.name,
            format!("global pause switched on by {}{why}", caller.name),
            None,
        )
        .await;
        self.global()
    }

    /// Lifts the global pause and resumes the rollouts it held.
    pub async fn resume_all(
        &self,
        caller: &Caller,
        comment: Option<String>,
    ) -> (GlobalStatus, Vec<String>) {
        if let Ok(mut g) = self.inner.global.lock() {
            *g = Global::default();
        }
        let why = comment
            .clone()
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        self.record(
            "*",
            "global_resume",
            &caller.name,
            format!("global pause lifted by {}{why}", caller.name),
            None,
        )
        .await;
        let held: Vec<(String, mpsc::Sender<Command>)> = self
            .inner
            .rollouts
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|(_, h)| {
                        h.is_running()
                            && h.held_by_global_pause.load(Ordering::SeqCst)
                            && matches!(h.status.borrow().state, Status::AwaitingHuman { .. })
                    })
                    .map(|(n, h)| (n.clone(), h.commands.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut resumed = Vec::new();
        for (name, tx) in held {
            let c = Command {
                kind: CommandKind::Resume,
                by: caller.name.clone(),
                comment: Some(format!("global pause lifted{why}")),
            };
            if tx.send(c).await.is_ok() {
                resumed.push(name);
            }
        }
        (self.global(), resumed)
    }

    /// Asks every rollout loop to stop (each takes its canary out of traffic).
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    /// Whether every rollout loop has ended.
    pub fn all_finished(&self) -> bool {
        self.inner
            .rollouts
            .lock()
            .map(|m| {
                m.values()
                    .all(|h| h.finished.lock().map(|f| f.is_some()).unwrap_or(true))
            })
            .unwrap_or(true)
    }

    async fn record_refusal(&self, rollout: &str, caller: &Caller, what: &str, e: &ApiError) {
        let policy = match e {
            ApiError::PolicyDenied {
                reasons,
                bundle_hash,
                ..
            } => Some(json!({"result": "deny", "reasons": reasons, "bundle_hash": bundle_hash})),
            _ => None,
        };
        self.append(NewEvent {
            time_ms: now_ms() as i64,
            rollout: rollout.to_string(),
            kind: "command_denied".into(),
            actor: caller.name.clone(),
            idempotency_key: None,
            inputs: json!({"command": what, "role": caller.role}),
            statistics: json!({}),
            policy,
            rationale: e.to_string(),
        })
        .await;
    }

    async fn record(
        &self,
        rollout: &str,
        kind: &str,
        actor: &str,
        rationale: String,
        decision: Option<&PolicyDecision>,
    ) {
        let policy = decision.map(|d| {
            json!({
                "bundle_hash": d.bundle_hash,
                "result": d.effective(),
                "reasons": d.effective_reasons(),
                "action": d.action,
            })
        });
        self.append(NewEvent {
            time_ms: now_ms() as i64,
            rollout: rollout.to_string(),
            kind: kind.to_string(),
            actor: actor.to_string(),
            idempotency_key: None,
            inputs: json!({}),
            statistics: json!({}),
            policy,
            rationale,
        })
        .await;
    }

    async fn append(&self, event: NewEvent) {
        if let Some(l) = &self.inner.config.ledger
            && let Err(e) = l.append(event).await
        {
            tracing::error!(error = %e, "cannot record a control-plane event in the ledger");
        }
    }
}

fn facts_of(inner: &Inner) -> EnvironmentFacts {
    let mut canaries: BTreeMap<String, u32> = BTreeMap::new();
    if let Ok(m) = inner.rollouts.lock() {
        for h in m.values().filter(|h| h.is_running()) {
            if let Some(env) = h.rollout.labels.get("env") {
                *canaries.entry(env.clone()).or_default() += 1;
            }
        }
    }
    EnvironmentFacts {
        freeze_active: false,
        canaries_in_use: canaries,
        error_budget_remaining: inner.config.error_budgets.clone(),
        global_pause: inner.global.lock().map(|g| g.pause).unwrap_or(true),
    }
}

fn status_of(h: &Handle) -> RolloutStatus {
    let error = h
        .finished
        .lock()
        .ok()
        .and_then(|f| f.as_ref().and_then(|r| r.as_ref().err().cloned()));
    RolloutStatus {
        view: h.status.borrow().clone(),
        policy_bundle: h.policy.bundle_hash().to_string(),
        proxy: h.proxy,
        error,
    }
}

fn initial_status(rollout: &Rollout, now: u64) -> StatusView {
    StatusView {
        rollout: rollout.name.clone(),
        service: rollout.service.clone(),
        labels: rollout.labels.clone(),
        step: 0,
        steps: rollout.steps.len(),
        step_kind: rollout
            .steps
            .first()
            .map(|s| s.kind())
            .unwrap_or("promote")
            .into(),
        weight: 0.0,
        state: Status::Progressing,
        verdicts: Vec::new(),
        started_at: now,
        updated_at: now,
        router: String::new(),
        notes: Vec::new(),
    }
}
