//! Who is at the other end of a verified connection: the common name of the
//! peer's certificate and the services and roles its SAN URIs grant. Only
//! call this on a certificate the TLS handshake has already verified.

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::TlsError;

/// SAN URI prefix naming a service the holder may drive.
pub const SERVICE_PREFIX: &str = "rollguard:service:";
/// SAN URI prefix naming a role of the holder.
pub const ROLE_PREFIX: &str = "rollguard:role:";

/// The identity a verified client certificate proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The certificate's common name.
    pub name: String,
    pub services: Vec<String>,
    pub roles: Vec<String>,
    /// Certificate expiry, seconds since the Unix epoch.
    pub not_after_unix: i64,
}

impl PeerIdentity {
    /// Reads the identity from a DER certificate.
    pub fn from_der(der: &CertificateDer<'_>) -> Result<Self, TlsError> {
        let (_, cert) = X509Certificate::from_der(der.as_ref())
            .map_err(|e| TlsError::PeerCert(format!("not a parsable X.509 certificate: {e}")))?;
        let name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
            .ok_or_else(|| TlsError::PeerCert("the certificate has no common name".into()))?;
        let mut services = Vec::new();
        let mut roles = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                if let GeneralName::URI(uri) = n {
                    if let Some(s) = uri.strip_prefix(SERVICE_PREFIX) {
                        services.push(s.to_string());
                    } else if let Some(r) = uri.strip_prefix(ROLE_PREFIX) {
                        roles.push(r.to_string());
                    }
                }
            }
        }
        Ok(PeerIdentity {
            name,
            services,
            roles,
            not_after_unix: cert.validity().not_after.timestamp(),
        })
    }

    /// The policy principal: `agent:NAME`.
    pub fn principal(&self) -> String {
        format!("agent:{}", self.name)
    }

    /// Whether the certificate lets its holder drive `service`.
    pub fn may_drive(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// A person-readable reason for a failed TLS handshake, naming expired,
/// foreign (unknown CA), revoked and missing client certificates.
pub fn describe_tls_error(err: &std::io::Error) -> String {
    let Some(inner) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return format!("TLS handshake failed: {err}");
    };
    use rustls::CertificateError as C;
    match inner {
        rustls::Error::NoCertificatesPresented => {
            "refused: the client presented no certificate".into()
        }
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => {
                format!("refused: the client certificate has expired ({c:?})")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("refused: the client certificate is not valid yet ({c:?})")
            }
            C::UnknownIssuer => {
                "refused: the client certificate is foreign (not signed by this CA)".into()
            }
            // A CA with the same name but another key: foreign, or forged.
            C::BadSignature => {
                "refused: the client certificate is foreign (its signature does not verify against this CA)".into()
            }
            C::Revoked => "refused: the client certificate is revoked".into(),
            other => format!("refused: invalid client certificate: {other:?}"),
        },
        other => format!("TLS handshake failed: {other}"),
    }
}
