//! Errors of the test bed; each names the field or address at fault.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error("invalid service behaviour: {field}: {reason}")]
    Behavior { field: &'static str, reason: String },

    #[error("invalid load: {field}: {reason}")]
    Load { field: &'static str, reason: String },

    #[error(
        "load target {target} is not a loopback address; the load generator only sends to 127.0.0.0/8, ::1 or localhost"
    )]
    NotLoopback { target: String },

    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
