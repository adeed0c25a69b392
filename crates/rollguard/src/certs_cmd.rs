//! `rollguard certs init|issue`: a development CA and the certificates agents,
//! controllers and operators present to each other over mutual TLS.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use rollguard_mtls::{IssueOptions, init_ca, issue, revoke};

use crate::exit::{self, Failure};

#[derive(Args)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCmd,
}

#[derive(Subcommand)]
pub enum CertsCmd {
    /// Create a CA (ca.pem, ca.key) in DIR.
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue NAME.pem / NAME.key signed by the CA in DIR.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        /// Common name: the holder's identity (`agent:NAME` as a policy principal).
        #[arg(long)]
        name: String,
        /// Services the holder may drive (agents), comma-separated.
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
        /// Roles: agent, controller, operator (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "agent")]
        roles: Vec<String>,
        /// DNS names / IPs the holder serves TLS on.
        #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
        hosts: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Revoke NAME.pem: re-issues DIR/crl.pem (controllers load it at start).
    Revoke {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        name: String,
    },
}

pub fn certs(a: CertsArgs) -> Result<u8, Failure> {
    match a.command {
        CertsCmd::Init { dir } => {
            let files = init_ca(&dir)
                .with_context(|| format!("creating a CA in {}", dir.display()))
                .map_err(Failure::other)?;
            println!(
                "CA created: {} (key {}, keep it private)",
                files.cert.display(),
                files.key.display()
            );
        }
        CertsCmd::Issue {
            dir,
            name,
            services,
            roles,
            hosts,
            days,
        } => {
            let mut opts = IssueOptions::new(&name, days);
            opts.services = services;
            opts.roles = roles;
            opts.hosts = hosts;
            let files = issue(&dir, &opts)
                .with_context(|| format!("issuing a certificate for {name} in {}", dir.display()))
                .map_err(Failure::invalid)?;
            println!(
                "issued {} (key {}): roles {:?}, services {:?}, valid {} days",
                files.cert.display(),
                files.key.display(),
                opts.roles,
                opts.services,
                days
            );
        }
        CertsCmd::Revoke { dir, name } => {
            let crl = revoke(&dir, &name)
                .with_context(|| format!("revoking {name} in {}", dir.display()))
                .map_err(Failure::other)?;
            println!(
                "revoked {name}; restart controllers to load {}",
                crl.display()
            );
        }
    }
    Ok(exit::OK)
}
