//! Errors of the proxy: configuration, binding, and upstream reachability.
//! Each names the field, address or endpoint at fault.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid proxy configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },

    #[error("listen address {addr} is already in use")]
    AddrInUse {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("upstream {endpoint} is unreachable: {reason}")]
    Unreachable { endpoint: String, reason: String },
}

impl ProxyError {
    /// Whether trying the same thing again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProxyError::Unreachable { .. } | ProxyError::AddrInUse { .. }
        )
    }
}
