use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "rollout {rollout}: {which} endpoint {endpoint} is not reachable before the rollout starts: {reason}"
    )]
    Unreachable {
        rollout: String,
        which: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error("rollout {rollout}: {field} {value:?} is not usable: {reason}")]
    BadConfig {
        rollout: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error(
        "rollout {rollout}: the {router} router is not supported by `run` yet; use the builtin router"
    )]
    UnsupportedRouter {
        rollout: String,
        router: &'static str,
    },
    #[error("ledger: {0}")]
    Ledger(#[from] rollguard_ledger::LedgerError),
    #[error("rollout {rollout}: the ledger holds events this engine cannot resume from: {reason}")]
    Resume { rollout: String, reason: String },
    #[error("proxy: {0}")]
    Proxy(#[from] rollguard_proxy::ProxyError),
}
