//! Errors of certificate generation and TLS configuration, each naming the
//! file or the certificate at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} already exists; refusing to overwrite it (remove it first)")]
    Exists { path: PathBuf },
    #[error("{path}: {detail}")]
    BadPem { path: PathBuf, detail: String },
    #[error("generating {what}: {source}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("invalid {field} {value:?}: {detail}")]
    InvalidName {
        field: &'static str,
        value: String,
        detail: String,
    },
    #[error("TLS configuration ({what}): {source}")]
    Config {
        what: &'static str,
        #[source]
        source: rustls::Error,
    },
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    #[error("peer certificate: {0}")]
    PeerCert(String),
}
