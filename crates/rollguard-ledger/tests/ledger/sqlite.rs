//! The shared cases against SQLite files in temp directories.

use rollguard_ledger::Ledger;
use tempfile::TempDir;

use crate::cases::{self, tamper};
use crate::support::Raw;

/// A new ledger file; keep the `TempDir` alive while using it.
async fn fresh() -> (TempDir, Ledger, Raw) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let location = path.to_str().expect("utf-8 temp path").to_string();
    let ledger = Ledger::open(&location).await.expect("create ledger");
    (dir, ledger, Raw::Sqlite(path))
}

macro_rules! sqlite_case {
    ($name:ident, $case:path) => {
        #[tokio::test]
        async fn $name() {
            let (_dir, ledger, _raw) = fresh().await;
            $case(&ledger).await;
        }
    };
    ($name:ident, $case:path, raw) => {
        #[tokio::test]
        async fn $name() {
            let (_dir, ledger, raw) = fresh().await;
            $case(&ledger, &raw).await;
        }
    };
}

sqlite_case!(chain_and_reads, cases::chain_and_reads);
sqlite_case!(idempotency_records_a_retry_once, cases::idempotency);
sqlite_case!(
    concurrent_retries_record_once,
    cases::concurrent_retries_record_once
);
sqlite_case!(awkward_values_round_trip, cases::awkward_values_round_trip);
sqlite_case!(concurrent_appends_form_one_chain, cases::concurrent_appends);
sqlite_case!(export_jsonl_lines_verify, cases::export_jsonl);
sqlite_case!(prune_keeps_an_anchor_for_verify, cases::prune_and_verify);
sqlite_case!(
    prune_refuses_a_broken_chain,
    cases::prune_refuses_broken_chain,
    raw
);
sqlite_case!(tamper_edited_field, tamper::edited_field, raw);
sqlite_case!(
    tamper_reencoded_json,
    tamper::edited_json_keeping_value,
    raw
);
sqlite_case!(tamper_deleted_row, tamper::deleted_row, raw);
sqlite_case!(tamper_deleted_tail, tamper::deleted_tail, raw);
sqlite_case!(tamper_swapped_rows, tamper::swapped_rows, raw);
sqlite_case!(tamper_inserted_row, tamper::inserted_row, raw);
sqlite_case!(
    tamper_inserted_in_the_middle,
    tamper::inserted_in_the_middle,
    raw
);

#[tokio::test]
async fn reopening_continues_the_chain() {
    let (dir, ledger, _raw) = fresh().await;
    let first = ledger
        .append(crate::support::event("r", "decision", 1))
        .await
        .expect("append");
    ledger.close().await.expect("close");
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(path.to_str().expect("utf-8"))
        .await
        .expect("reopen");
    let second = ledger
        .append(crate::support::event("r", "decision", 2))
        .await
        .expect("append");
    assert_eq!(
        (second.seq, second.prev_hash.as_str()),
        (2, first.hash.as_str())
    );
    assert!(ledger.verify().await.expect("verify").ok);
}

#[tokio::test]
async fn two_handles_on_one_file_share_the_chain() {
    let (dir, a, _raw) = fresh().await;
    let path = dir.path().join("ledger.db");
    let b = Ledger::open(path.to_str().expect("utf-8"))
        .await
        .expect("second open");
    for i in 0..5 {
        a.append(crate::support::event("a", "decision", i))
            .await
            .expect("append a");
        b.append(crate::support::event("b", "decision", i))
            .await
            .expect("append b");
    }
    let report = a.verify().await.expect("verify");
    assert!(report.ok && report.events == 10, "{report:?}");
}
