//! A development certificate authority and the certificates it signs.
//!
//! `init_ca(dir)` writes `ca.pem` and `ca.key`; `issue(dir, opts)` writes
//! `NAME.pem` and `NAME.key` signed by that CA. Every issued certificate is
//! usable both as a TLS client and a TLS server certificate (agents and
//! controllers use the same kind), carries the holder's name as its common
//! name, the hosts it serves as DNS/IP SANs, and what it may do as SAN URIs:
//! `rollguard:service:SVC` per service it may drive and `rollguard:role:ROLE`.
//! Keys are ECDSA P-256 and written with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::TlsError;
use crate::identity::{ROLE_PREFIX, SERVICE_PREFIX};

/// What a certificate says about its holder.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// Common name; also the file name (`NAME.pem`, `NAME.key`).
    pub name: String,
    /// Services the holder may drive (`rollguard:service:SVC`).
    pub services: Vec<String>,
    /// Roles, e.g. `controller`, `agent`, `operator` (`rollguard:role:ROLE`).
    pub roles: Vec<String>,
    /// DNS names and IP addresses the holder serves TLS on.
    pub hosts: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IssueOptions {
    /// Valid from an hour ago for `days` days, for `localhost` and `127.0.0.1`.
    pub fn new(name: &str, days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        IssueOptions {
            name: name.to_string(),
            services: Vec::new(),
            roles: Vec::new(),
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
        }
    }
}

/// The files written for one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn check_name(field: &'static str, value: &str) -> Result<(), TlsError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok && !value.starts_with('.') {
        Ok(())
    } else {
        Err(TlsError::InvalidName {
            field,
            value: value.to_string(),
            detail: "use 1-64 characters from A-Z a-z 0-9 - _ . (not starting with a dot)".into(),
        })
    }
}

fn gen_err(what: &str) -> impl FnOnce(rcgen::Error) -> TlsError + '_ {
    move |source| TlsError::Generate {
        what: what.to_string(),
        source,
    }
}

fn write_new(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            TlsError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            TlsError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|source| TlsError::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn create_dir(dir: &Path) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates a CA (`ca.pem`, `ca.key`) in `dir`, valid for ten years. Refuses
/// to overwrite an existing one.
pub fn init_ca(dir: &Path) -> Result<IssuedFiles, TlsError> {
    create_dir(dir)?;
    let files = IssuedFiles {
        cert: dir.join("ca.pem"),
        key: dir.join("ca.key"),
    };
    for p in [&files.cert, &files.key] {
        if p.exists() {
            return Err(TlsError::Exists { path: p.clone() });
        }
    }
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "rollguard development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(3650);
    let key = KeyPair::generate().map_err(gen_err("the CA key"))?;
    let cert = params
        .self_signed(&key)
        .map_err(gen_err("the CA certificate"))?;
    write_new(&files.key, &key.serialize_pem(), true)?;
    write_new(&files.cert, &cert.pem(), false)?;
    Ok(files)
}

/// Issues `NAME.pem` / `NAME.key` in `dir`, signed by the CA there.
pub fn issue(dir: &Path, opts: &IssueOptions) -> Result<IssuedFiles, TlsError> {
    check_name("name", &opts.name)?;
    for s in &opts.services {
        check_name("service", s)?;
    }
    for r in &opts.roles {
        check_name("role", r)?;
    }
    let ca_cert_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca.key");
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| TlsError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let ca_key = KeyPair::from_pem(&read(&ca_key_path)?).map_err(|e| TlsError::BadPem {
        path: ca_key_path.clone(),
        detail: e.to_string(),
    })?;
    let issuer =
        Issuer::from_ca_cert_pem(&read(&ca_cert_path)?, ca_key).map_err(|e| TlsError::BadPem {
            path: ca_cert_path.clone(),
            detail: e.to_string(),
        })?;
    let files = IssuedFiles {
        cert: dir.join(format!("{}.pem", opts.name)),
        key: dir.join(format!("{}.key", opts.name)),
    };
    for p in [&files.cert, &files.key] {
        if p.exists() {
            return Err(TlsError::Exists { path: p.clone() });
        }
    }
    let mut params =
        CertificateParams::new(opts.hosts.clone()).map_err(gen_err("the host names"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, opts.name.as_str());
    let uris = opts
        .services
        .iter()
        .map(|s| format!("{SERVICE_PREFIX}{s}"))
        .chain(opts.roles.iter().map(|r| format!("{ROLE_PREFIX}{r}")));
    for uri in uris {
        let ia5 = uri.clone().try_into().map_err(gen_err("a SAN URI"))?;
        params.subject_alt_names.push(SanType::URI(ia5));
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = opts.not_before;
    params.not_after = opts.not_after;
    let key = KeyPair::generate().map_err(gen_err("the key"))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(gen_err("the certificate"))?;
    write_new(&files.key, &key.serialize_pem(), true)?;
    write_new(&files.cert, &cert.pem(), false)?;
    Ok(files)
}
