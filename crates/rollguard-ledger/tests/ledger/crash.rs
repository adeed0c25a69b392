//! kill -9 during appends: every acknowledged event survives, the chain
//! stays valid. The writer is a child process (`ledger-crash-writer`) that
//! prints `ack SEQ` after each append returns.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use rollguard_ledger::{EventFilter, Ledger};

/// Acks to see before the kill; enough to be mid-way through many batches.
const ACKS_BEFORE_KILL: usize = 300;

#[tokio::test]
async fn sigkill_mid_append_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let location = path.to_str().expect("utf-8").to_string();
    kill_writer_and_check(&location).await;
}

/// Runs `ledger-crash-writer` on `location`, SIGKILLs it after
/// [`ACKS_BEFORE_KILL`] acks, then checks every ack is stored and the chain
/// verifies.
pub async fn kill_writer_and_check(location: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-crash-writer"))
        .args([location, "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ledger-crash-writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut reader = BufReader::new(stdout);
    let mut acked = BTreeSet::new();
    let mut line = String::new();
    let mut killed = false;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read child stdout");
        if n == 0 {
            break; // EOF: the child is gone
        }
        // A line cut by the kill has no newline: it was never fully acked.
        if let Some(seq) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ack ")) {
            acked.insert(seq.parse::<u64>().expect("seq"));
        }
        if !killed && acked.len() >= ACKS_BEFORE_KILL {
            child.kill().expect("SIGKILL the writer"); // std sends SIGKILL on Unix
            killed = true;
        }
    }
    let status = child.wait().expect("wait");
    if !killed {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!("writer exited before the kill ({status}): {err}");
    }
    assert!(acked.len() >= ACKS_BEFORE_KILL);

    let ledger = Ledger::open(location).await.expect("reopen after kill -9");
    let stored: BTreeSet<u64> = ledger
        .events(EventFilter::default())
        .await
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let report = ledger.verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events, stored.len() as u64);
}
