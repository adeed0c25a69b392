//! The shared cases against a real PostgreSQL started by this test (one
//! server, one database per case), plus refusal of foreign and newer-schema
//! databases.

use rollguard_ledger::{Ledger, LedgerError};

use crate::cases::{self, tamper};
use crate::support::Raw;
use rollguard_ledger::testing::PgServer;

#[tokio::test]
async fn postgres_backend_passes_the_shared_cases() {
    let server = PgServer::start();
    let mut n = 0;
    let mut fresh = async || {
        n += 1;
        let url = server.create_db(&format!("case_{n}")).await;
        let ledger = Ledger::open(&url).await.expect("open postgres ledger");
        assert_eq!(ledger.backend(), "postgres");
        (ledger, Raw::Postgres(url))
    };

    let (l, _) = fresh().await;
    cases::chain_and_reads(&l).await;
    let (l, _) = fresh().await;
    cases::idempotency(&l).await;
    let (l, _) = fresh().await;
    cases::awkward_values_round_trip(&l).await;
    let (l, _) = fresh().await;
    cases::concurrent_retries_record_once(&l).await;
    let (l, _) = fresh().await;
    cases::concurrent_appends(&l).await;
    let (l, _) = fresh().await;
    cases::export_jsonl(&l).await;
    let (l, _) = fresh().await;
    cases::prune_and_verify(&l).await;
    let (l, r) = fresh().await;
    cases::prune_refuses_broken_chain(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::edited_field(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::edited_json_keeping_value(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::deleted_row(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::deleted_tail(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::swapped_rows(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::inserted_row(&l, &r).await;
    let (l, r) = fresh().await;
    tamper::inserted_in_the_middle(&l, &r).await;

    // Reopening an existing ledger database continues its chain.
    let url = server.create_db("db_reopen").await;
    let first = Ledger::open(&url).await.expect("open");
    let a = first
        .append(crate::support::event("r", "decision", 1))
        .await
        .expect("append");
    let second = Ledger::open(&url).await.expect("reopen");
    let b = second
        .append(crate::support::event("r", "decision", 2))
        .await
        .expect("append");
    assert_eq!((b.seq, b.prev_hash), (2, a.hash));

    // The server drops every connection (restart, failover): the ledger
    // reconnects; a batch caught in the cut may fail, none is half-written.
    let url = server.create_db("db_reconnect").await;
    let ledger = Ledger::open(&url).await.expect("open");
    ledger
        .append(crate::support::event("r", "decision", 1))
        .await
        .expect("append");
    Raw::Postgres(server.url("postgres"))
        .exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = 'db_reconnect' AND pid <> pg_backend_pid()",
        )
        .await;
    let mut appended = None;
    for _ in 0..5 {
        match ledger
            .append(crate::support::event("r", "decision", 2))
            .await
        {
            Ok(e) => {
                appended = Some(e);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert!(appended.is_some(), "append after a dropped connection");
    let mut events = None;
    for _ in 0..5 {
        if let Ok(e) = ledger.events(Default::default()).await {
            events = Some(e);
            break;
        }
    }
    assert_eq!(events.expect("read after a dropped connection").len(), 2);
    assert!(ledger.verify().await.expect("verify").ok);

    // kill -9 of a writer process: every acknowledged event is stored.
    let url = server.create_db("db_crash").await;
    crate::crash::kill_writer_and_check(&url).await;

    // Foreign: ledger-named tables without our marker.
    let url = server.create_db("db_foreign").await;
    Raw::Postgres(url.clone())
        .exec("CREATE TABLE ledger_events (id int)")
        .await;
    let err = Ledger::open(&url).await.err().expect("must refuse");
    assert!(matches!(err, LedgerError::Foreign { .. }), "{err:?}");
    assert!(
        err.to_string().contains("127.0.0.1"),
        "error names the server: {err}"
    );

    // Newer schema: refused, nothing migrated.
    let url = server.create_db("db_newer").await;
    Ledger::open(&url).await.expect("create");
    let raw = Raw::Postgres(url.clone());
    raw.exec("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'")
        .await;
    let err = Ledger::open(&url).await.err().expect("must refuse");
    assert!(
        matches!(err, LedgerError::NewerSchema { found: 99, .. }),
        "{err:?}"
    );
}
