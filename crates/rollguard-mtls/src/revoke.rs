//! Revocation: `revoke(dir, name)` adds the serial number of `NAME.pem` to
//! `revoked.txt` and re-issues `crl.pem`, a CRL signed by the CA listing every
//! revoked serial. Servers built with [`crate::server_config`] load `crl.pem`
//! from the CA's directory when it exists (at start: restart to apply a new
//! revocation), and refuse revoked client certificates at the handshake.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::TlsError;

fn read(p: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(p).map_err(|source| TlsError::Read {
        path: p.to_path_buf(),
        source,
    })
}

fn write_replace(path: &Path, contents: &str) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// The serial number of the certificate in `path`, lowercase hex.
pub fn serial_of(path: &Path) -> Result<String, TlsError> {
    let certs = crate::load_certs(path)?;
    let der = certs.first().ok_or_else(|| TlsError::BadPem {
        path: path.to_path_buf(),
        detail: "no certificate".into(),
    })?;
    let (_, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| TlsError::BadPem {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    Ok(cert
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn unhex(path: &Path, s: &str) -> Result<Vec<u8>, TlsError> {
    hex::decode(s).map_err(|e| TlsError::BadPem {
        path: path.to_path_buf(),
        detail: format!("serial {s:?}: {e}"),
    })
}

/// Revokes `DIR/NAME.pem` and rewrites `DIR/crl.pem`; returns the CRL path.
pub fn revoke(dir: &Path, name: &str) -> Result<PathBuf, TlsError> {
    let serial = serial_of(&dir.join(format!("{name}.pem")))?;
    let list_path = dir.join("revoked.txt");
    let mut serials: Vec<String> = match std::fs::read_to_string(&list_path) {
        Ok(s) => s
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(TlsError::Read {
                path: list_path,
                source,
            });
        }
    };
    if !serials.contains(&serial) {
        serials.push(serial);
    }
    let ca_key_path = dir.join("ca.key");
    let ca_cert_path = dir.join("ca.pem");
    let key = KeyPair::from_pem(&read(&ca_key_path)?).map_err(|e| TlsError::BadPem {
        path: ca_key_path.clone(),
        detail: e.to_string(),
    })?;
    let issuer =
        Issuer::from_ca_cert_pem(&read(&ca_cert_path)?, key).map_err(|e| TlsError::BadPem {
            path: ca_cert_path.clone(),
            detail: e.to_string(),
        })?;
    let now = OffsetDateTime::now_utc();
    let mut revoked = Vec::new();
    for s in &serials {
        revoked.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&unhex(&list_path, s)?),
            revocation_time: now,
            reason_code: Some(RevocationReason::Unspecified),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now - Duration::minutes(5),
        next_update: now + Duration::days(365),
        crl_number: SerialNumber::from(serials.len() as u64),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params
        .signed_by(&issuer)
        .map_err(|source| TlsError::Generate {
            what: "the revocation list".into(),
            source,
        })?;
    let pem = crl.pem().map_err(|source| TlsError::Generate {
        what: "the revocation list PEM".into(),
        source,
    })?;
    write_replace(&list_path, &(serials.join("\n") + "\n"))?;
    let crl_path = dir.join("crl.pem");
    write_replace(&crl_path, &pem)?;
    Ok(crl_path)
}
