//! `rollguard controller`: the global controller on its own (mutual TLS API,
//! rollout registry, mandates, budgets; several replicas on PostgreSQL).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rollguard_controller::{Budgets, CanaryBudget, ControllerConfig, ServeOptions, serve};
use rollguard_mtls::TlsFiles;

use crate::exit::{self, Failure};
use crate::run::ledger_location;

#[derive(Args)]
pub struct ControllerArgs {
    /// Address for the mutual-TLS API.
    #[arg(long, default_value = "127.0.0.1:7443")]
    pub listen: SocketAddr,
    /// Directory with ca.pem and NAME.pem / NAME.key (see `rollguard certs`).
    #[arg(long)]
    pub tls_dir: PathBuf,
    /// Certificate name in --tls-dir.
    #[arg(long, default_value = "controller")]
    pub name: String,
    /// Replica id (leader election, ledger actor) [default: --name].
    #[arg(long)]
    pub replica: Option<String>,
    /// URL agents reach this replica at [default: https://LISTEN].
    #[arg(long)]
    pub advertise: Option<String>,
    /// Mandate lease length.
    #[arg(long, default_value = "15s")]
    pub lease: String,
    /// Leader lease length (PostgreSQL ledger only).
    #[arg(long, default_value = "3s")]
    pub leader_ttl: String,
    /// Global budget LABEL=VALUE:N, e.g. env=prod:2 (repeatable).
    #[arg(long = "max-canaries")]
    pub max_canaries: Vec<CanaryBudget>,
    /// Rollout files to register (repeatable).
    #[arg(short = 'f', long = "rollout")]
    pub rollouts: Vec<PathBuf>,
    /// Policy bundle directory; its hash goes into every mandate.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

pub fn duration(flag: &str, text: &str) -> Result<Duration, Failure> {
    rollguard_core::parse_duration(text)
        .map(Duration::from_millis)
        .map_err(|e| Failure::invalid(anyhow::anyhow!("{flag} {text:?}: {e}")))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn terminated() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

pub async fn controller(a: ControllerArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let mut rollouts = Vec::new();
    for f in &a.rollouts {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading rollout file {}", f.display()))
            .map_err(Failure::invalid)?;
        rollguard_core::spec::load(&text, &f.display().to_string()).map_err(Failure::invalid)?;
        rollouts.push((f.display().to_string(), text));
    }
    let policy_bundle = match &a.policy {
        Some(dir) => Some(
            rollguard_policy::PolicyBundle::load(dir)
                .map_err(Failure::invalid)?
                .hash()
                .to_string(),
        ),
        None => None,
    };
    let replica = a.replica.clone().unwrap_or_else(|| a.name.clone());
    let opts = ServeOptions {
        listen: a.listen,
        tls: TlsFiles::in_dir(&a.tls_dir, &a.name),
        ledger: ledger_location(ledger)?,
        advertise: a.advertise.clone(),
        leader_ttl: duration("--leader-ttl", &a.leader_ttl)?,
        controller: ControllerConfig {
            replica,
            lease: duration("--lease", &a.lease)?,
            budgets: Budgets(a.max_canaries.clone()),
            policy_bundle,
            rollouts,
        },
    };
    serve(opts, terminated(), |addr| {
        eprintln!("rollguard controller listening on https://{addr}");
    })
    .await
    .map_err(Failure::other)?;
    Ok(exit::OK)
}
