//! `rollguard demo` end to end, then the ledger commands on what it recorded:
//! `explain` tells the story, `ledger verify` passes and then catches an
//! edited rationale by its seq, `replay --from-ledger` re-decides the same.

use crate::support::{Rg, ledger_events};

fn with_ledger<'a>(ledger: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--ledger", ledger];
    all.extend_from_slice(args);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_healthy_canary_is_promoted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = dir.path().join("ledger.db").display().to_string();
    let done = Rg::spawn(&with_ledger(
        &ledger,
        &["demo", "--canary", "healthy", "--output", "json"],
    ))
    .finish_within(crate::support::PROMOTION_DEADLINE)
    .await;
    assert_eq!(done.code, Some(0), "{}", done.describe());
    let s = done.json();
    assert_eq!(s["outcome"], "promoted");
    assert_eq!(s["final_weight"], 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_rolls_back_and_the_ledger_tells_verifies_and_replays_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.db");
    let ledger = path.display().to_string();
    let rg = |args: &[&str]| Rg::spawn(&with_ledger(&ledger, args));

    let demo = rg(&["demo"]).finish().await;
    assert_eq!(demo.code, Some(3), "{}", demo.describe());
    assert!(demo.stdout.contains("ROLLED BACK"), "{}", demo.describe());
    let why = demo
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("why:"))
        .unwrap_or_else(|| panic!("a rationale:\n{}", demo.describe()));
    assert!(why.contains("errors"), "{why}");

    let explain = rg(&["explain", "demo-errors"]).finish().await;
    assert_eq!(explain.code, Some(0), "{}", explain.describe());
    for part in [
        "[started]",
        "[weight_set]",
        "[rolled_back]",
        "errors: fail",
        "outcome: rolled_back",
    ] {
        assert!(
            explain.stdout.contains(part),
            "explain shows {part:?}:\n{}",
            explain.stdout
        );
    }

    let verify = rg(&["ledger", "verify"]).finish().await;
    assert_eq!(verify.code, Some(0), "{}", verify.describe());
    assert!(verify.stdout.contains("OK"), "{}", verify.describe());

    let replay = rg(&["replay", "--from-ledger", "demo-errors", "--output", "json"])
        .finish()
        .await;
    assert_eq!(replay.code, Some(0), "{}", replay.describe());
    assert_eq!(
        replay.json()["same_decisions"],
        true,
        "{}",
        replay.describe()
    );

    // Tamper: rewrite one decision's rationale behind the ledger's back.
    let events = ledger_events(&path);
    let victim = events
        .iter()
        .find(|e| e.kind == "rolled_back")
        .expect("a rolled_back event")
        .seq;
    {
        let db = rusqlite::Connection::open(&path).expect("open ledger");
        let changed = db
            .execute(
                "UPDATE ledger_events SET rationale = 'all good, promoted' WHERE seq = ?1",
                [victim],
            )
            .expect("update");
        assert_eq!(changed, 1);
    }
    let verify = rg(&["ledger", "verify"]).finish().await;
    assert_eq!(verify.code, Some(1), "{}", verify.describe());
    assert!(
        verify.stdout.contains(&format!("TAMPERED at seq {victim}")),
        "verify names seq {victim}:\n{}",
        verify.describe()
    );
    let json = rg(&["ledger", "verify", "--output", "json"]).finish().await;
    assert_eq!(json.code, Some(1));
    assert_eq!(json.json()["first_bad_seq"], victim);
}
