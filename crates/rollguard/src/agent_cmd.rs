//! `rollguard agent`: runs mandated rollouts next to the services, buffering
//! its events on disk and shipping them to the controller.

use std::path::PathBuf;

use clap::Args;
use rollguard_agent::{AgentOptions, run_agent};
use rollguard_mtls::TlsFiles;

use crate::controller_cmd::{duration, terminated};
use crate::exit::{self, Failure};

#[derive(Args)]
pub struct AgentArgs {
    /// Directory with ca.pem and NAME.pem / NAME.key (see `rollguard certs`).
    #[arg(long)]
    pub tls_dir: PathBuf,
    /// Certificate name in --tls-dir (the agent's identity).
    #[arg(long)]
    pub name: String,
    /// Controller replica URL (repeatable, or comma-separated).
    #[arg(long = "controller", value_delimiter = ',', required = true)]
    pub controllers: Vec<String>,
    /// Where the event buffer lives.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Heartbeat interval.
    #[arg(long, default_value = "1s")]
    pub heartbeat: String,
    /// Policy bundle directory (its hash must match the controller's).
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

pub async fn agent(a: AgentArgs) -> Result<u8, Failure> {
    let mut opts = AgentOptions::new(
        TlsFiles::in_dir(&a.tls_dir, &a.name),
        a.controllers.clone(),
        a.data_dir.clone(),
    );
    opts.heartbeat = duration("--heartbeat", &a.heartbeat)?;
    opts.policy = a.policy.clone();
    run_agent(opts, terminated())
        .await
        .map_err(Failure::other)?;
    Ok(exit::OK)
}
