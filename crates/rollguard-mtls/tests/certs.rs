//! Certificates carry the identity the controller authorizes with, the CA
//! refuses to be overwritten, bad names are rejected, and revocation writes
//! a CRL the server config accepts.

use rollguard_mtls::{IssueOptions, PeerIdentity, TlsError, TlsFiles};

#[test]
fn issued_certificate_carries_name_services_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    rollguard_mtls::init_ca(dir.path()).unwrap();
    assert!(matches!(
        rollguard_mtls::init_ca(dir.path()),
        Err(TlsError::Exists { .. })
    ));
    let mut o = IssueOptions::new("agent-a", 30);
    o.services = vec!["svc-a".into(), "svc-b".into()];
    o.roles = vec!["agent".into()];
    let files = rollguard_mtls::issue(dir.path(), &o).unwrap();
    let der = rollguard_mtls::load_certs(&files.cert).unwrap();
    let id = PeerIdentity::from_der(&der[0]).unwrap();
    assert_eq!(id.name, "agent-a");
    assert_eq!(id.principal(), "agent:agent-a");
    assert!(id.may_drive("svc-a") && id.may_drive("svc-b") && !id.may_drive("svc-c"));
    assert!(id.has_role("agent") && !id.has_role("operator"));
    // Bad names are refused before anything is written.
    let bad = IssueOptions::new("../etc", 30);
    assert!(matches!(
        rollguard_mtls::issue(dir.path(), &bad),
        Err(TlsError::InvalidName { .. })
    ));
}

#[test]
fn revocation_writes_a_crl_the_server_loads() {
    rollguard_mtls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    rollguard_mtls::init_ca(dir.path()).unwrap();
    for name in ["controller", "gone"] {
        rollguard_mtls::issue(dir.path(), &IssueOptions::new(name, 30)).unwrap();
    }
    let crl = rollguard_mtls::revoke(dir.path(), "gone").unwrap();
    assert!(crl.exists());
    // Revoking twice lists the serial once.
    rollguard_mtls::revoke(dir.path(), "gone").unwrap();
    let listed = std::fs::read_to_string(dir.path().join("revoked.txt")).unwrap();
    assert_eq!(listed.lines().count(), 1);
    rollguard_mtls::server_config(&TlsFiles::in_dir(dir.path(), "controller")).unwrap();
}
