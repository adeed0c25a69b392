//! Bad input to `rollguard run`: an endpoint down before the start, a listen
//! address in use, a malformed rollout file. Each gives a clear error naming
//! the place at fault, and nothing is written to the ledger.

use crate::support::{Bed, RolloutSpec, baseline_behavior, ledger_events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_before_start_is_a_clear_error_and_moves_nothing() {
    let mut bed = Bed::new(baseline_behavior()).await;
    let canary = bed.canary().addr();
    let file = bed.rollout(&RolloutSpec::new("unreachable", &["setWeight: 50"]));
    if let Some(c) = bed.canary.take() {
        c.stop();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let done = bed
        .rollguard(&["run", "-f", &file.display().to_string()])
        .finish()
        .await;
    assert!(
        matches!(done.code, Some(1) | Some(2)),
        "{}",
        done.describe()
    );
    assert!(
        done.stderr.contains(&canary.to_string()) && done.stderr.contains("canary"),
        "the error names the canary endpoint:\n{}",
        done.describe()
    );
    assert!(
        ledger_events(&bed.ledger).is_empty(),
        "no event may be written before traffic can move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_address_in_use_is_named() {
    let bed = Bed::new(baseline_behavior()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let mut spec = RolloutSpec::new("port-in-use", &["setWeight: 50"]);
    spec.listen = addr.to_string();
    let file = bed.rollout(&spec);
    let done = bed
        .rollguard(&["run", "-f", &file.display().to_string()])
        .finish()
        .await;
    assert_eq!(done.code, Some(1), "{}", done.describe());
    assert!(
        done.stderr.contains(&addr.to_string()) && done.stderr.contains("in use"),
        "the error names {addr}:\n{}",
        done.describe()
    );
    assert!(ledger_events(&bed.ledger).is_empty());
    drop(taken);
}

/// Line (1-based) of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rollout_file_gives_the_same_file_line_errors_as_validate() {
    let bed = Bed::new(baseline_behavior()).await;
    let good = bed.rollout(&RolloutSpec::new("malformed", &["setWeight: 50"]));
    let text = std::fs::read_to_string(&good).expect("read rollout");
    // A YAML-level error (an unknown field) and a validation error (a weight
    // out of range), each at a known line.
    let cases = [
        (
            "unknown-field.yaml",
            text.replacen("  service: shop\n", "  service: shop\n  surprise: 1\n", 1),
            "surprise",
        ),
        (
            "bad-weight.yaml",
            text.replacen("setWeight: 50", "setWeight: 150", 1),
            "setWeight: 150",
        ),
    ];
    for (name, bad_text, culprit) in cases {
        let line = line_of(&bad_text, culprit);
        let bad = bed.dir.path().join(name);
        std::fs::write(&bad, &bad_text).expect("write");
        let bad = bad.display().to_string();
        let validate = bed.rollguard(&["validate", "-f", &bad]).finish().await;
        let run = bed.rollguard(&["run", "-f", &bad]).finish().await;
        assert_eq!(validate.code, Some(2), "{}", validate.describe());
        assert_eq!(run.code, Some(2), "{}", run.describe());
        assert!(
            validate.stderr.contains(&format!("{bad}:{line}:")),
            "validate names {bad}:{line}:\n{}",
            validate.describe()
        );
        assert_eq!(
            run.stderr, validate.stderr,
            "run reports what validate reports"
        );
    }
    assert!(ledger_events(&bed.ledger).is_empty());
}
