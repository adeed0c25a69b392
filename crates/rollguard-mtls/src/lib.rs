//! rollguard's mutual TLS between agents and the controller.
//!
//! - [`issue`]: a development CA and certificates made with `rcgen`
//!   (`rollguard certs init|issue`). A certificate's common name is the
//!   holder's name; the services an agent may drive are SAN URIs
//!   `rollguard:service:NAME`, its role a SAN URI `rollguard:role:ROLE`.
//! - [`config`]: rustls server configs that require a client certificate
//!   signed by the CA, and client configs that present one.
//! - [`revoke`]: a CRL (`crl.pem`) the server loads next to the CA.
//! - [`identity`]: the [`PeerIdentity`] read from a verified peer
//!   certificate; `agent:NAME` is its policy principal.
//!
//! The crypto provider is `ring`; call [`install_crypto_provider`] once per
//! process before building any config or HTTP client.

pub mod config;
mod error;
pub mod identity;
pub mod issue;
pub mod revoke;

pub use config::{TlsFiles, client_config, load_certs, load_key, server_config};
pub use error::TlsError;
pub use identity::{PeerIdentity, describe_tls_error};
pub use issue::{IssueOptions, IssuedFiles, init_ca, issue};
pub use revoke::revoke;

/// Installs `ring` as the process-wide rustls provider; a second call is a no-op.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
