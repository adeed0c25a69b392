//! The live loop: every telemetry interval it takes the proxy tap's window,
//! steps the engine, commits the records to the ledger, and only then applies
//! the weight to the proxy and reports progress.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollguard_core::spec::{OnRestart, RouterSpec};
use rollguard_core::{
    AllowAll, Command, CommandKind, Effect, Engine, Input, Millis, Observation, Outcome, Rollout,
    RolloutState, Status, Verdict, VersionWindow,
};
use rollguard_ledger::{EventFilter, Ledger};
use rollguard_proxy::{Proxy, ProxyConfig, ProxyHandle, Sticky, VersionTap, check_upstream};

use crate::records::{event_from_record, started_event};
use crate::resume::{latest_run, rebuild_state};
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
}

/// What the progress display gets every tick.
pub struct Snapshot<'a> {
    pub rollout: &'a Rollout,
    pub state: &'a RolloutState,
    pub verdicts: &'a [Verdict],
    pub now: Millis,
    pub proxy_addr: SocketAddr,
}

pub trait Progress: Send {
    fn update(&mut self, snapshot: &Snapshot<'_>);
    fn message(&mut self, text: &str);
}

pub struct LiveRollout {
    rollout: Arc<Rollout>,
    engine: Engine,
    proxy: ProxyHandle,
    ledger: Option<Ledger>,
    run: Millis,
    counter: u64,
    state: Option<RolloutState>,
    pending: Vec<Effect>,
    resumed: bool,
    operator: String,
    exit_when_waiting: bool,
}

fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl LiveRollout {
    /// Checks the endpoints, binds the proxy and (with a ledger) resumes an
    /// unfinished run of the same rollout. No traffic moves before this succeeds.
    pub async fn prepare(rollout: Arc<Rollout>, opts: RunOptions) -> Result<LiveRollout, RunError> {
        let RouterSpec::Builtin(router) = &rollout.router else {
            return Err(RunError::UnsupportedRouter {
                rollout: rollout.name.clone(),
                router: "haproxy",
            });
        };
        let mut uris = Vec::new();
        for (which, v) in [("baseline", &rollout.baseline), ("canary", &rollout.canary)] {
            let endpoint = v.endpoint.clone().unwrap_or_default();
            let uri: http::Uri =
                endpoint
                    .parse()
                    .map_err(|e: http::uri::InvalidUri| RunError::BadConfig {
                        rollout: rollout.name.clone(),
                        field: if which == "baseline" {
                            "spec.baseline.endpoint"
                        } else {
                            "spec.canary.endpoint"
                        },
                        value: endpoint.clone(),
                        reason: e.to_string(),
                    })?;
            check_upstream(&uri, Duration::from_secs(3))
                .await
                .map_err(|e| RunError::Unreachable {
                    rollout: rollout.name.clone(),
                    which,
                    endpoint: endpoint.clone(),
                    reason: match e {
                        rollguard_proxy::ProxyError::Unreachable { reason, .. } => reason,
                        other => other.to_string(),
                    },
                })?;
            uris.push(uri);
        }
        let listen: SocketAddr = router
            .listen
            .parse()
            .map_err(|e: std::net::AddrParseError| RunError::BadConfig {
                rollout: rollout.name.clone(),
                field: "spec.router.builtin.listen",
                value: router.listen.clone(),
                reason: e.to_string(),
            })?;
        let mut cfg = ProxyConfig::new(listen, uris[0].clone(), uris[1].clone());
        cfg.request_timeout = Duration::from_millis(router.timeout);
        cfg.mirror_percent = router.mirror_percent;
        cfg.force_header = http::HeaderName::try_from(router.force_header.as_str()).ok();
        if let Some(h) = &router.sticky_header {
            let name = http::HeaderName::try_from(h.as_str()).map_err(|e| RunError::BadConfig {
                rollout: rollout.name.clone(),
                field: "spec.router.builtin.stickyHeader",
                value: h.clone(),
                reason: e.to_string(),
            })?;
            cfg.sticky = Some(Sticky::Header(name));
        } else if let Some(c) = &router.sticky_cookie {
            cfg.sticky = Some(Sticky::Cookie(c.clone()));
        }
        let proxy = Proxy::start(cfg).await.map_err(|e| match e {
            rollguard_proxy::ProxyError::AddrInUse { addr, .. } => RunError::Listen {
                addr,
                reason: format!("{addr} is already in use (spec.router.builtin.listen)"),
            },
            rollguard_proxy::ProxyError::Bind { addr, source } => RunError::Listen {
                addr,
                reason: source.to_string(),
            },
            other => RunError::Proxy(other),
        })?;
        proxy.set_canary_weight(0.0);

        let engine = Engine::new(rollout.clone());
        let mut live = LiveRollout {
            rollout: rollout.clone(),
            engine,
            proxy,
            ledger: opts.ledger,
            run: 0,
            counter: 0,
            state: None,
            pending: Vec::new(),
            resumed: false,
            operator: opts.operator,
            exit_when_waiting: opts.exit_when_waiting,
        };
        live.resume_or_start(opts.resume).await?;
        Ok(live)
    }

    pub fn proxy_addr(&self) -> SocketAddr {
        self.proxy.local_addr()
    }

    pub fn resumed(&self) -> bool {
        self.resumed
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
                    // Level-triggered: the router gets the weight the engine holds.
                    self.proxy.set_canary_weight(resumed.state.weight);
                    self.state = Some(resumed.state);
                    self.resumed = true;
                    if self.rollout.on_restart == OnRestart::Rollback {
                        self.command(
                            Command {
                                kind: CommandKind::Rollback,
                                by: "rollguard".into(),
                                comment: Some(
                                    "restarted mid-rollout and onRestart is rollback".into(),
                                ),
                            },
                            now,
                        )
                        .await?;
                    }
                    return Ok(());
                }
            }
        }
        self.run = now;
        let (state, fx) = self.engine.start(now, &mut AllowAll);
        self.state = Some(state);
        self.apply(fx, None, now, true).await
    }

    async fn command(&mut self, c: Command, now: Millis) -> Result<(), RunError> {
        self.step(Input::Command(c), now).await
    }

    async fn step(&mut self, input: Input, now: Millis) -> Result<(), RunError> {
        let Some(state) = self.state.take() else {
            return Ok(());
        };
        let (state, fx) = self.engine.step(state, input.clone(), now, &mut AllowAll);
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
                    event_from_record(
                        &self.rollout.name,
                        self.run,
                        self.counter,
                        now,
                        r,
                        if first { input.as_ref() } else { None },
                    )
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
                    self.proxy.set_canary_weight(weight);
                }
                Effect::Notify { kind, message } => {
                    tracing::info!(rollout = %self.rollout.name, kind = kind.as_str(), "notify: {message}");
                }
                other => self.pending.push(other),
            }
        }
        Ok(())
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
        let _ = self.proxy.take_window();
        let mut window_start = now_ms();
        let started = window_start;
        let mut canary_served = 0u64;
        let mut canary_errors = 0u64;
        let mut first_canary: Option<Millis> = None;
        let mut last_canary: Option<Millis> = None;
        let mut last_err: (Option<String>, Option<String>) = (None, None);
        let mut stopped = false;
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
                    let tap = self.proxy.take_window();
                    if tap.canary.requests > 0 {
                        first_canary.get_or_insert(now);
                        last_canary = Some(now);
                    }
                    canary_served += tap.canary.requests;
                    canary_errors += tap.canary.errors();
                    if tap.canary.last_error.is_some() { last_err.1 = tap.canary.last_error.clone(); }
                    if tap.baseline.last_error.is_some() { last_err.0 = tap.baseline.last_error.clone(); }
                    let obs = Observation::from_versions(&self.rollout, window_start, now, &window(&tap.baseline), &window(&tap.canary));
                    window_start = now;
                    self.step(Input::Observe(obs), now).await?;
                    if let Some(st) = &self.state {
                        let verdicts = st.verdicts(false);
                        progress.update(&Snapshot { rollout: &self.rollout, state: st, verdicts: &verdicts, now, proxy_addr: self.proxy.local_addr() });
                    }
                }
                _ = &mut stop, if !stopped => {
                    stopped = true;
                    progress.message("stop requested: taking the canary out of traffic");
                    let by = self.operator.clone();
                    self.command(Command { kind: CommandKind::Abort, by, comment: Some("interrupted (SIGINT)".into()) }, now_ms()).await?;
                }
            }
        }
        // The canary's weight is already applied; let in-flight requests finish.
        let tap = self.proxy.take_window();
        canary_served += tap.canary.requests;
        canary_errors += tap.canary.errors();
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
        let summary = RunSummary {
            rollout: self.rollout.name.clone(),
            outcome: state.outcome(),
            status,
            reason,
            run: self.run,
            duration_ms: now_ms().saturating_sub(started),
            final_weight: state.weight,
            canary_requests: canary_served,
            canary_errors,
            canary_exposure_ms: match (first_canary, last_canary) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => 0,
            },
            verdicts: state.verdicts(true),
            ledger: self.ledger.as_ref().map(|l| l.location().to_string()),
            events_written: self.counter,
            resumed: self.resumed,
            canary_last_error: last_err.1,
            baseline_last_error: last_err.0,
        };
        self.proxy.shutdown(Duration::from_secs(5)).await;
        if let Some(l) = self.ledger.take() {
            l.close().await?;
        }
        let _ = Outcome::Promoted;
        Ok(summary)
    }
}

fn window(tap: &VersionTap) -> VersionWindow {
    VersionWindow {
        requests: tap.requests,
        errors: tap.errors(),
        latency: tap.latency.clone(),
    }
}
