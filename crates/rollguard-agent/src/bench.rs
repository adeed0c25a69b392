//! `rollguard bench control-plane`: one controller against many simulated
//! agents, in one process.
//!
//! Each simulated agent holds one rollout, driven by the real engine with
//! synthetic telemetry. The controller is the real [`Controller`] (registry,
//! mandates, budgets, ledger ingestion), called directly rather than over
//! TLS, so the figures are the controller's and the ledger's, not the
//! network's.
//!
//! - **Steady phase**: every agent heartbeats and ticks once per `tick`: it
//!   steps its engine on a fresh observation and ships the records to the
//!   controller. *Decision latency* is the time from the start of a tick to
//!   its events being durable in the global ledger (engine step + ingestion,
//!   group-committed with every other agent's events).
//! - **Burst phase**: every agent ships a backlog of `burst` events at once
//!   (as after a partition heals): *events per second ingested* at saturation.
//! - **Memory per rollout**: growth of the process's resident memory from
//!   before the rollouts exist to the end of the steady phase, divided by
//!   their number (engine state, registry entry, agent task).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollguard_controller::protocol::{Heartbeat, ShipEvents};
use rollguard_controller::{Controller, ControllerConfig, Leadership};
use rollguard_core::{AllowAll, Effect, Engine, Input, Observation, VersionWindow};
use rollguard_ledger::{Ledger, NewEvent};
use rollguard_mtls::PeerIdentity;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Simulated agents, one rollout each.
    pub agents: usize,
    /// Length of the steady phase.
    pub duration: Duration,
    /// Tick (and heartbeat) interval of each agent.
    pub tick: Duration,
    /// Events per agent in the burst phase.
    pub burst: usize,
    /// Ledger location (SQLite path or `postgres://`), best empty.
    pub ledger: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub agents: usize,
    pub ledger_backend: String,
    pub steady_seconds: f64,
    pub steady_events: u64,
    pub steady_events_per_second: f64,
    pub decision_latency_p50_ms: f64,
    pub decision_latency_p99_ms: f64,
    pub decision_latency_max_ms: f64,
    /// The engine step alone (sense -> judge -> propose), p99.
    pub engine_step_p99_ms: f64,
    pub heartbeat_latency_p99_ms: f64,
    pub burst_events: u64,
    pub burst_events_per_second: f64,
    pub memory_per_rollout_kib: f64,
    pub rss_mib: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("ledger {location}: {source}")]
    Ledger {
        location: String,
        #[source]
        source: rollguard_ledger::LedgerError,
    },
    #[error("controller refused: {0}")]
    Controller(String),
}

fn spec(i: usize) -> String {
    format!(
        "apiVersion: rollguard.dev/v1alpha1\nkind: Rollout\nmetadata:\n  name: bench-{i}\n  labels: {{env: bench}}\nspec:\n  service: svc-{i}\n  baseline: {{version: v1, endpoint: \"http://127.0.0.1:9\"}}\n  canary: {{version: v2, endpoint: \"http://127.0.0.1:9\"}}\n  telemetry: {{interval: 1s}}\n  strategy:\n    steps:\n      - setWeight: 10\n      - analyze: {{minDuration: 1h, maxDuration: 2h}}\n  analysis:\n    metrics:\n      - name: errors\n        errorRate: {{}}\n        maxIncrease: {{relative: 0.5, absolute: 0.01}}\n"
    )
}

fn rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|pages| pages * 4.0)
        .unwrap_or(0.0)
}

fn wall_ms() -> u64 {
    rollguard_runtime::now_ms()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Sim {
    identity: PeerIdentity,
    engine: Engine,
    state: Option<rollguard_core::RolloutState>,
    rollout: Arc<rollguard_core::Rollout>,
    run: u64,
    counter: u64,
    ticks: u64,
}

impl Sim {
    fn records(
        &mut self,
        fx: Vec<Effect>,
        now: u64,
        input: Option<&Input>,
        start: bool,
    ) -> Vec<NewEvent> {
        let mut out = Vec::new();
        for e in fx {
            if let Effect::Record(r) = e {
                let ev = if start && out.is_empty() {
                    rollguard_runtime::started_event(&self.rollout, self.run, &r)
                } else {
                    let inp = if out.is_empty() { input } else { None };
                    rollguard_runtime::event_from_record(
                        &self.rollout.name,
                        self.run,
                        self.counter,
                        now,
                        &r,
                        inp,
                    )
                };
                self.counter += 1;
                out.push(ev);
            }
        }
        out
    }

    fn tick(&mut self, prev: u64, now: u64) -> Vec<NewEvent> {
        self.ticks += 1;
        let baseline = VersionWindow {
            requests: 90,
            errors: u64::from(self.ticks.is_multiple_of(10)),
            latency: Default::default(),
        };
        let canary = VersionWindow {
            requests: 10,
            errors: 0,
            latency: Default::default(),
        };
        let obs = Observation::from_versions(&self.rollout, prev, now, &baseline, &canary);
        let input = Input::Observe(obs);
        let Some(state) = self.state.take() else {
            return Vec::new();
        };
        let (state, fx) = self.engine.step(state, input.clone(), now, &mut AllowAll);
        self.state = Some(state);
        self.records(fx, now, Some(&input), false)
    }
}

/// Runs the benchmark (see the module doc).
pub async fn control_plane(opts: BenchOptions) -> Result<BenchReport, BenchError> {
    let ledger = Ledger::open(&opts.ledger)
        .await
        .map_err(|source| BenchError::Ledger {
            location: opts.ledger.clone(),
            source,
        })?;
    let rss_before = rss_kib();
    let cfg = ControllerConfig {
        replica: "bench".into(),
        lease: Duration::from_secs(30),
        budgets: Default::default(),
        policy_bundle: None,
        rollouts: (0..opts.agents)
            .map(|i| (format!("bench-{i}"), spec(i)))
            .collect(),
    };
    let controller = Controller::new(cfg, ledger.clone(), Leadership::single(None));
    let mut sims = Vec::with_capacity(opts.agents);
    for i in 0..opts.agents {
        let identity = PeerIdentity {
            name: format!("agent-{i}"),
            services: vec![format!("svc-{i}")],
            roles: vec!["agent".into()],
            not_after_unix: i64::MAX,
        };
        let reply = controller
            .heartbeat(&identity, Heartbeat::default())
            .await
            .map_err(|e| BenchError::Controller(e.to_string()))?;
        let Some(m) = reply.mandates.first() else {
            return Err(BenchError::Controller(format!("no mandate for agent-{i}")));
        };
        let rollout = rollguard_core::spec::load(&m.spec_yaml, &m.rollout)
            .map_err(|e| BenchError::Controller(e.to_string()))?;
        let rollout = Arc::new(rollout);
        let engine = Engine::new(rollout.clone());
        let now = wall_ms();
        let (state, fx) = engine.start(now, &mut AllowAll);
        let mut sim = Sim {
            identity,
            engine,
            state: Some(state),
            rollout,
            run: now,
            counter: 0,
            ticks: 0,
        };
        let events = sim.records(fx, now, None, true);
        controller
            .ingest(&sim.identity, ShipEvents { events })
            .await
            .map_err(|e| BenchError::Controller(e.to_string()))?;
        sims.push(sim);
    }

    // Steady phase.
    let started = Instant::now();
    let written_before = ledger.writer_stats().events;
    let agents = opts.agents.max(1) as f64;
    let mut tasks = Vec::with_capacity(sims.len());
    for (i, mut sim) in sims.into_iter().enumerate() {
        let c = controller.clone();
        let tick = opts.tick;
        let duration = opts.duration;
        tasks.push(tokio::spawn(async move {
            let mut decisions = Vec::new();
            let mut steps = Vec::new();
            let mut heartbeats = Vec::new();
            // Spread the agents over the tick.
            tokio::time::sleep(tick.mul_f64(i as f64 / agents)).await;
            let mut ticker = tokio::time::interval(tick);
            let mut prev = wall_ms();
            let end = Instant::now() + duration;
            while Instant::now() < end {
                ticker.tick().await;
                let t0 = Instant::now();
                let now = wall_ms();
                let events = sim.tick(prev, now);
                steps.push(t0.elapsed().as_secs_f64() * 1e3);
                prev = now;
                if c.ingest(&sim.identity, ShipEvents { events }).await.is_ok() {
                    decisions.push(t0.elapsed().as_secs_f64() * 1e3);
                }
                let h0 = Instant::now();
                if c.heartbeat(&sim.identity, Heartbeat::default())
                    .await
                    .is_ok()
                {
                    heartbeats.push(h0.elapsed().as_secs_f64() * 1e3);
                }
            }
            (sim, decisions, steps, heartbeats)
        }));
    }
    let mut decisions = Vec::new();
    let mut steps = Vec::new();
    let mut heartbeats = Vec::new();
    let mut sims = Vec::new();
    for t in tasks {
        if let Ok((s, d, e, h)) = t.await {
            decisions.extend(d);
            steps.extend(e);
            heartbeats.extend(h);
            sims.push(s);
        }
    }
    let steady_seconds = started.elapsed().as_secs_f64();
    let steady_events = ledger.writer_stats().events - written_before;
    let rss_after = rss_kib();
    decisions.sort_by(f64::total_cmp);
    heartbeats.sort_by(f64::total_cmp);
    steps.sort_by(f64::total_cmp);

    // Burst phase: every agent ships a backlog at once.
    let burst_started = Instant::now();
    let burst_before = ledger.writer_stats().events;
    let mut tasks = Vec::new();
    for sim in sims {
        let c = controller.clone();
        let n = opts.burst;
        tasks.push(tokio::spawn(async move {
            let name = sim.rollout.name.clone();
            let events: Vec<NewEvent> = (0..n)
                .map(|k| NewEvent {
                    time_ms: wall_ms() as i64,
                    rollout: name.clone(),
                    kind: "observed".into(),
                    actor: "rollguard".into(),
                    idempotency_key: Some(format!("{name}/burst/{k}")),
                    inputs: json!({"run": sim.run, "burst": k}),
                    statistics: json!({}),
                    policy: None,
                    rationale: "buffered during a partition".into(),
                })
                .collect();
            for chunk in events.chunks(crate::shipper::BATCH) {
                let _ = c
                    .ingest(
                        &sim.identity,
                        ShipEvents {
                            events: chunk.to_vec(),
                        },
                    )
                    .await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let burst_seconds = burst_started.elapsed().as_secs_f64();
    let burst_events = ledger.writer_stats().events - burst_before;
    Ok(BenchReport {
        agents: opts.agents,
        ledger_backend: ledger.backend().into(),
        steady_seconds,
        steady_events,
        steady_events_per_second: steady_events as f64 / steady_seconds,
        decision_latency_p50_ms: percentile(&decisions, 0.5),
        decision_latency_p99_ms: percentile(&decisions, 0.99),
        decision_latency_max_ms: decisions.last().copied().unwrap_or(0.0),
        engine_step_p99_ms: percentile(&steps, 0.99),
        heartbeat_latency_p99_ms: percentile(&heartbeats, 0.99),
        burst_events,
        burst_events_per_second: burst_events as f64 / burst_seconds.max(1e-9),
        memory_per_rollout_kib: (rss_after - rss_before).max(0.0) / opts.agents.max(1) as f64,
        rss_mib: rss_after / 1024.0,
    })
}
