//! The agent process: heartbeats to the controller, starts the rollouts it
//! is mandated to run, renews their leases from the replies, resumes a
//! rollout that was held only because its lease had expired once the lease
//! is back, and ships the event buffer. Rollbacks never wait for any of this:
//! they happen inside each rollout's own loop.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rollguard_controller::protocol::{
    Heartbeat, HeartbeatReply, Mandate, RunningRollout as Reported,
};
use rollguard_core::{AllowAll, Command, CommandKind, Gate, Status};
use rollguard_ledger::Ledger;
use rollguard_mtls::{PeerIdentity, TlsFiles};
use tokio::sync::{Notify, watch};

use crate::client::{ClientError, ControllerClient};
use crate::gate::LEASE_EXPIRED;
use crate::runner::{self, RunningRollout, finished_in_buffer, mandate_rollout};
use crate::shipper::{ShipStats, Shipper, read_cursor};

#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub tls: TlsFiles,
    /// Controller replica URLs, tried in order.
    pub controllers: Vec<String>,
    /// Holds `buffer.db` (the local ledger) and `shipped.seq`.
    pub data_dir: PathBuf,
    pub heartbeat: Duration,
    pub ship_interval: Duration,
    pub request_timeout: Duration,
    /// A policy bundle directory; its hash must match the mandates'.
    pub policy: Option<PathBuf>,
}

impl AgentOptions {
    pub fn new(tls: TlsFiles, controllers: Vec<String>, data_dir: PathBuf) -> Self {
        AgentOptions {
            tls,
            controllers,
            data_dir,
            heartbeat: Duration::from_secs(1),
            ship_interval: Duration::from_millis(500),
            request_timeout: Duration::from_secs(5),
            policy: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Tls(#[from] rollguard_mtls::TlsError),
    #[error("certificate {path}: {detail}")]
    Identity { path: PathBuf, detail: String },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("event buffer {location}: {source}")]
    Buffer {
        location: String,
        #[source]
        source: rollguard_ledger::LedgerError,
    },
    #[error("policy bundle {path}: {detail}")]
    Policy { path: PathBuf, detail: String },
}

struct Policy {
    hash: String,
    engine: Arc<rollguard_policy::PolicyEngine>,
    timezone: jiff::tz::TimeZone,
}

struct Agent {
    identity: PeerIdentity,
    client: Arc<ControllerClient>,
    buffer: Ledger,
    wake: Arc<Notify>,
    policy: Option<Policy>,
    running: HashMap<String, RunningRollout>,
    skew_warned: bool,
}

/// Controller clock offsets above this are logged (leases are unaffected).
const SKEW_NOTICE_MS: i64 = 5_000;

/// Runs the agent until `shutdown` resolves; then aborts its running
/// rollouts (taking canaries out of traffic) and ships what it can.
pub async fn run_agent(
    opts: AgentOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let certs = rollguard_mtls::load_certs(&opts.tls.cert)?;
    let identity = certs
        .first()
        .map(PeerIdentity::from_der)
        .transpose()?
        .ok_or_else(|| AgentError::Identity {
            path: opts.tls.cert.clone(),
            detail: "no certificate".into(),
        })?;
    std::fs::create_dir_all(&opts.data_dir).map_err(|source| AgentError::DataDir {
        path: opts.data_dir.clone(),
        source,
    })?;
    let location = opts.data_dir.join("buffer.db").display().to_string();
    let buffer = Ledger::open(&location)
        .await
        .map_err(|source| AgentError::Buffer {
            location: location.clone(),
            source,
        })?;
    let policy = match &opts.policy {
        None => None,
        Some(dir) => {
            let err = |e: rollguard_policy::PolicyError| AgentError::Policy {
                path: dir.clone(),
                detail: e.to_string(),
            };
            let bundle = rollguard_policy::PolicyBundle::load(dir).map_err(err)?;
            let engine = rollguard_policy::PolicyEngine::new(&bundle).map_err(err)?;
            Some(Policy {
                hash: bundle.hash().to_string(),
                engine: Arc::new(engine),
                timezone: bundle.timezone().clone(),
            })
        }
    };
    let client = Arc::new(ControllerClient::new(
        opts.controllers.clone(),
        &opts.tls,
        opts.request_timeout,
    )?);
    let wake = Arc::new(Notify::new());
    let cursor_path = opts.data_dir.join("shipped.seq");
    let stats = Arc::new(ShipStats::default());
    stats
        .shipped_seq
        .store(read_cursor(&cursor_path), Ordering::Relaxed);
    let (stop_tx, stop_rx) = watch::channel(false);
    let shipper = Shipper {
        buffer: buffer.clone(),
        client: client.clone(),
        cursor_path,
        stats: stats.clone(),
        interval: opts.ship_interval,
    };
    let shipping = tokio::spawn(shipper.run(wake.clone(), stop_rx));
    tracing::info!(
        agent = %identity.name,
        services = ?identity.services,
        controllers = ?opts.controllers,
        buffer = %location,
        "agent started"
    );
    let mut agent = Agent {
        identity,
        client,
        buffer,
        wake,
        policy,
        running: HashMap::new(),
        skew_warned: false,
    };
    let mut ticker = tokio::time::interval(opts.heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut unreachable = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut shutdown => break,
        }
        match agent.heartbeat().await {
            Ok(()) => {
                if unreachable {
                    tracing::info!(controller = %agent.client.current(), "controller reachable again");
                }
                unreachable = false;
            }
            Err(e) => {
                if !unreachable {
                    tracing::warn!(
                        "heartbeat failed (rollouts keep running within their leases): {e}"
                    );
                }
                unreachable = true;
            }
        }
    }
    tracing::info!(agent = %agent.identity.name, "stopping: taking running canaries out of traffic");
    for (_, mut r) in agent.running.drain() {
        if let Some(tx) = r.stop.take() {
            let _ = tx.send(());
        }
        let _ = r.task.await;
    }
    let _ = stop_tx.send(true);
    let _ = shipping.await;
    let _ = agent.buffer.close().await;
    Ok(())
}

impl Agent {
    fn report(&self) -> Heartbeat {
        Heartbeat {
            running: self
                .running
                .values()
                .map(|r| {
                    let s = r.status.borrow();
                    Reported {
                        rollout: r.rollout.name.clone(),
                        status: runner::status_name(&s.state).into(),
                        weight: s.weight,
                    }
                })
                .collect(),
        }
    }

    async fn heartbeat(&mut self) -> Result<(), ClientError> {
        let sent = Instant::now();
        let reply: HeartbeatReply = self.client.post("/v1/heartbeat", &self.report()).await?;
        if let Some(m) = reply.mandates.first() {
            let offset =
                crate::lease::controller_clock_offset_ms(m, rollguard_runtime::now_ms() as i64);
            if offset.abs() > SKEW_NOTICE_MS && !self.skew_warned {
                tracing::warn!(
                    offset_ms = offset,
                    "the controller's clock differs from this agent's; leases are durations on this agent's monotonic clock and are unaffected, but ledger timestamps from the two differ"
                );
                self.skew_warned = true;
            }
        }
        for m in reply.mandates {
            self.on_mandate(m, sent).await;
        }
        Ok(())
    }

    fn inner_gate(&self) -> Box<dyn Gate + Send> {
        match &self.policy {
            None => Box::new(AllowAll),
            // Policy sees the principal {kind: agent, name: CN}, i.e. agent:CN.
            Some(p) => Box::new(
                rollguard_runtime::PolicyGate::new(
                    p.engine.clone(),
                    p.timezone.clone(),
                    rollguard_runtime::fixed_environment(Default::default()),
                )
                .with_principal(self.identity.name.clone()),
            ),
        }
    }

    async fn on_mandate(&mut self, m: Mandate, sent: Instant) {
        let lease = Duration::from_millis(m.lease_ms);
        if let Some(r) = self.running.get(&m.rollout) {
            if r.spec_hash != m.spec_hash {
                tracing::warn!(rollout = %m.rollout, "mandate names a different spec than the one running; ignored until the run ends");
                return;
            }
            let was_valid = r.lease.valid_at(sent);
            r.lease.renew(sent, lease);
            let held = matches!(&r.status.borrow().state, Status::AwaitingHuman { reason } if reason.contains(LEASE_EXPIRED));
            if held && !r.done.load(Ordering::Relaxed) {
                tracing::info!(rollout = %m.rollout, "mandate renewed: resuming the held rollout");
                let c = Command {
                    kind: CommandKind::Resume,
                    by: self.identity.principal(),
                    comment: Some("mandate lease renewed by the controller".into()),
                };
                let _ = r.commands.send(c).await;
            } else if !was_valid {
                tracing::info!(rollout = %m.rollout, "mandate lease renewed");
            }
            return;
        }
        if let (Some(p), Some(want)) = (&self.policy, &m.policy_bundle)
            && p.hash != *want
        {
            tracing::error!(rollout = %m.rollout, have = %p.hash, want = %want, "refusing the mandate: this agent's policy bundle differs from the controller's");
            return;
        }
        let rollout = match mandate_rollout(&m) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("{e}");
                return;
            }
        };
        if !self.identity.may_drive(&rollout.service) {
            tracing::error!(rollout = %m.rollout, service = %rollout.service, "refusing a mandate for a service this agent's certificate does not list");
            return;
        }
        match finished_in_buffer(&self.buffer, &rollout).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::error!("{e}");
                return;
            }
        }
        let gate = self.inner_gate();
        let principal = self.identity.principal();
        match runner::start(
            &m,
            rollout,
            sent,
            self.buffer.clone(),
            &principal,
            gate,
            self.wake.clone(),
        )
        .await
        {
            Ok(r) => {
                self.running.insert(m.rollout.clone(), r);
            }
            Err(e) => tracing::error!("cannot start the mandated rollout: {e}"),
        }
    }
}
