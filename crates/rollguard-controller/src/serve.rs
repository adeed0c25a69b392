//! `rollguard controller`: opens the ledger, joins the leader election when
//! the ledger is PostgreSQL (always leader on SQLite), and serves the API
//! over mutual TLS until the shutdown signal, then gives up the lease.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use rollguard_ledger::Ledger;
use rollguard_mtls::TlsFiles;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::controller::{Controller, ControllerConfig};
use crate::leader::{LeaderError, Leadership};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls: TlsFiles,
    /// Ledger location: SQLite path or `postgres://` URL (HA).
    pub ledger: String,
    /// URL agents reach this replica at (default `https://LISTEN`).
    pub advertise: Option<String>,
    /// Leader lease length (PostgreSQL only).
    pub leader_ttl: Duration,
    pub controller: ControllerConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("ledger {location}: {source}")]
    Ledger {
        location: String,
        #[source]
        source: rollguard_ledger::LedgerError,
    },
    #[error(transparent)]
    Tls(#[from] rollguard_mtls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Leader(#[from] LeaderError),
}

/// Runs a controller replica until `shutdown` resolves. `on_ready` gets the
/// bound address (useful with port 0).
pub async fn serve(
    opts: ServeOptions,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let tls = rollguard_mtls::server_config(&opts.tls)?;
    let ledger = Ledger::open(&opts.ledger)
        .await
        .map_err(|source| ServeError::Ledger {
            location: opts.ledger.clone(),
            source,
        })?;
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: opts.listen,
        source,
    })?;
    let advertise = opts
        .advertise
        .clone()
        .unwrap_or_else(|| format!("https://{addr}"));
    let leadership = if ledger.backend() == "postgres" {
        Leadership::postgres(
            &opts.ledger,
            &opts.controller.replica,
            &advertise,
            opts.leader_ttl,
        )
        .await?
    } else {
        Leadership::single(Some(advertise.clone()))
    };
    let controller = Controller::new(opts.controller.clone(), ledger.clone(), leadership.clone());
    controller.spawn_takeover_watch();
    tracing::info!(
        replica = %opts.controller.replica,
        %addr,
        ledger = %ledger.location(),
        "controller listening on {advertise} (mutual TLS)"
    );
    on_ready(addr);
    let (tx, rx) = watch::channel(false);
    let app = crate::http::router(controller);
    let server = tokio::spawn(crate::tls::serve_mtls(listener, tls, app, rx));
    shutdown.await;
    let _ = tx.send(true);
    let _ = server.await;
    leadership.release().await;
    tracing::info!(replica = %opts.controller.replica, "controller stopped");
    Ok(())
}
