//! API cases shared by both backends. Each takes a fresh, empty ledger and
//! raw SQL access to the same store.

use std::collections::BTreeSet;

use rollguard_ledger::{Event, EventFilter, GENESIS_HASH, Ledger};

use crate::support::{Raw, event, keyed};

fn all() -> EventFilter {
    EventFilter::default()
}

/// Appends: seqs from 1, hashes chained from genesis, reads by filter.
pub async fn chain_and_reads(ledger: &Ledger) {
    let a1 = ledger
        .append(event("a", "rollout_started", 1_000))
        .await
        .expect("append");
    let b1 = ledger
        .append(event("b", "rollout_started", 1_001))
        .await
        .expect("append");
    let batch = ledger
        .append_batch(vec![
            event("a", "weight_set", 1_002),
            event("a", "decision", 1_003),
        ])
        .await
        .expect("append batch");
    let b2 = ledger
        .append(event("b", "rolled_back", 1_004))
        .await
        .expect("append");
    assert_eq!(a1.seq, 1);
    assert_eq!(a1.prev_hash, GENESIS_HASH);
    assert_eq!(b1.prev_hash, a1.hash);
    assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(b2.seq, 5);

    let stored = ledger.events(all()).await.expect("events");
    let mut expected = vec![a1.clone(), b1.clone()];
    expected.extend(batch.clone());
    expected.push(b2.clone());
    assert_eq!(stored, expected, "stored events equal what append returned");
    for e in &stored {
        assert_eq!(e.compute_hash(), e.hash, "seq {}", e.seq);
    }

    let only_a = ledger
        .events(EventFilter {
            rollout: Some("a".into()),
            ..all()
        })
        .await
        .expect("events a");
    assert_eq!(
        only_a.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 3, 4]
    );
    let after = ledger
        .events(EventFilter {
            after_seq: Some(3),
            ..all()
        })
        .await
        .expect("after 3");
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    let limited = ledger
        .events(EventFilter {
            rollout: Some("a".into()),
            after_seq: Some(1),
            limit: Some(1),
        })
        .await
        .expect("limited");
    assert_eq!(limited.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);

    let rollouts = ledger.rollouts().await.expect("rollouts");
    assert_eq!(rollouts.len(), 2);
    assert_eq!(
        (
            rollouts[0].name.as_str(),
            rollouts[0].first_ms,
            rollouts[0].last_ms,
            rollouts[0].events
        ),
        ("a", 1_000, 1_003, 3)
    );
    assert_eq!(rollouts[0].last_kind, "decision");
    assert_eq!((rollouts[1].name.as_str(), rollouts[1].events), ("b", 2));
    assert_eq!(rollouts[1].last_kind, "rolled_back");

    assert_eq!(ledger.last_event("b").await.expect("last"), Some(b2));
    assert_eq!(ledger.last_event("nope").await.expect("last"), None);

    let report = ledger.verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!((report.events, report.head_seq), (5, 5));
}

/// Awkward values come back exactly and re-hash to the stored hash.
pub async fn awkward_values_round_trip(ledger: &Ledger) {
    let mut e = event("ünïcødé/rollout \"quoted\"", "decision", -5);
    e.actor = "user:ålice\n\t".into();
    e.inputs = serde_json::json!({
        "subnormal": -2.1965004014434914e-308,
        "big": 1.7976931348623157e308,
        "tiny": 5e-324,
        "third": 0.3333333333333333,
        "max_u64": u64::MAX,
        "min_i64": i64::MIN,
        "nul_in_json": "a\u{0}b",
        "emoji": "🚀",
        "nested": [[], {}, [null, true, false]],
    });
    e.statistics = serde_json::json!(1.0);
    e.policy = None;
    let appended = ledger.append(e).await.expect("append");
    let stored = ledger.events(all()).await.expect("events");
    assert_eq!(stored, vec![appended.clone()]);
    assert_eq!(stored[0].compute_hash(), appended.hash);
    assert!(ledger.verify().await.expect("verify").ok);

    let mut nul = event("r", "decision", 1);
    nul.rationale = "a\0b".into();
    let err = ledger
        .append(nul)
        .await
        .expect_err("NUL in text is refused");
    assert!(err.to_string().contains("rationale"), "{err}");
}

/// A retried action (same idempotency key) is recorded once.
pub async fn idempotency(ledger: &Ledger) {
    let first = ledger
        .append(keyed("r", "r/step-1", 10))
        .await
        .expect("append");
    let mut retry = keyed("r", "r/step-1", 99);
    retry.rationale = "a retry with other content".into();
    let again = ledger.append(retry).await.expect("retry");
    assert_eq!(again, first, "the retry returns the stored event");

    let batch = ledger
        .append_batch(vec![
            keyed("r", "r/step-2", 11),
            keyed("r", "r/step-1", 12),
            keyed("r", "r/step-2", 13),
        ])
        .await
        .expect("batch");
    assert_eq!(batch[0].seq, 2);
    assert_eq!(batch[1], first);
    assert_eq!(
        batch[2], batch[0],
        "a duplicate key inside one batch is recorded once"
    );
    assert_eq!(ledger.events(all()).await.expect("events").len(), 2);
    assert!(ledger.verify().await.expect("verify").ok);
}

/// The same action retried from many tasks at once is recorded once, and
/// every task gets that one event.
pub async fn concurrent_retries_record_once(ledger: &Ledger) {
    let mut tasks = Vec::new();
    for t in 0..12 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            ledger
                .append(keyed("r", "r/rollback", t))
                .await
                .expect("append")
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task"));
    }
    assert!(
        seen.iter().all(|e| *e == seen[0]),
        "every retry sees one event"
    );
    assert_eq!(ledger.events(all()).await.expect("events").len(), 1);
}

/// Many tasks appending at once: one gap-free chain, every ack stored.
pub async fn concurrent_appends(ledger: &Ledger) {
    let mut tasks = Vec::new();
    for t in 0..16 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..25 {
                let e = ledger
                    .append(event(&format!("r{t}"), "decision", i))
                    .await
                    .expect("append");
                seqs.push(e.seq);
            }
            seqs
        }));
    }
    let mut acked = BTreeSet::new();
    for task in tasks {
        for seq in task.await.expect("task") {
            assert!(acked.insert(seq), "seq {seq} acknowledged twice");
        }
    }
    assert_eq!(acked, (1..=400).collect::<BTreeSet<u64>>());
    let report = ledger.verify().await.expect("verify");
    assert!(report.ok && report.events == 400, "{report:?}");
}

/// JSON Lines export: one parseable event per line, hashes reproducible.
pub async fn export_jsonl(ledger: &Ledger) {
    for i in 0..7 {
        ledger
            .append(event("x", "decision", i))
            .await
            .expect("append");
    }
    let mut out = Vec::new();
    let n = ledger.export_jsonl(&mut out).await.expect("export");
    assert_eq!(n, 7);
    let text = String::from_utf8(out).expect("utf8");
    let events: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is an event"))
        .collect();
    assert_eq!(events.len(), 7);
    let mut prev = GENESIS_HASH.to_string();
    for e in &events {
        assert_eq!(e.prev_hash, prev);
        assert_eq!(
            e.compute_hash(),
            e.hash,
            "an exported event verifies on its own"
        );
        prev = e.hash.clone();
    }
}

/// Retention: the pruned prefix goes, the anchor keeps the rest verifiable.
pub async fn prune_and_verify(ledger: &Ledger) {
    for i in 0..10 {
        ledger
            .append(event("p", "decision", 1_000 + i))
            .await
            .expect("append");
    }
    let report = ledger.prune_before(1_005).await.expect("prune");
    assert_eq!(
        (report.pruned, report.pruned_total, report.anchor_seq),
        (5, 5, 5)
    );
    let v = ledger.verify().await.expect("verify");
    assert!(v.ok, "{v:?}");
    assert_eq!((v.events, v.pruned, v.anchor_seq), (5, 5, 5));
    let first = ledger.events(all()).await.expect("events");
    assert_eq!(first.first().map(|e| e.seq), Some(6));

    assert_eq!(
        ledger
            .prune_before(1_005)
            .await
            .expect("prune again")
            .pruned,
        0
    );
    ledger
        .append(event("p", "promoted", 2_000))
        .await
        .expect("append after prune");
    assert!(ledger.verify().await.expect("verify").ok);

    let all_gone = ledger.prune_before(i64::MAX).await.expect("prune all");
    assert_eq!(
        (all_gone.pruned, all_gone.pruned_total, all_gone.anchor_seq),
        (6, 11, 11)
    );
    let v = ledger.verify().await.expect("verify empty");
    assert!(v.ok && v.events == 0, "{v:?}");
    let next = ledger
        .append(event("p", "decision", 3_000))
        .await
        .expect("append");
    assert_eq!(next.seq, 12, "seq continues after a full prune");
    assert_eq!(next.prev_hash, all_gone.anchor_hash);
    assert!(ledger.verify().await.expect("verify").ok);
}

/// Pruning refuses to hide a broken chain.
pub async fn prune_refuses_broken_chain(ledger: &Ledger, raw: &Raw) {
    for i in 0..4 {
        ledger
            .append(event("q", "decision", i))
            .await
            .expect("append");
    }
    raw.exec("UPDATE ledger_events SET rationale = 'forged' WHERE seq = 2")
        .await;
    let err = ledger
        .prune_before(i64::MAX)
        .await
        .expect_err("prune must refuse");
    assert!(err.to_string().contains("seq 2"), "{err}");
    assert_eq!(ledger.events(all()).await.expect("events").len(), 4);
}

async fn seed(ledger: &Ledger, n: i64) {
    for i in 0..n {
        ledger
            .append(event("t", "decision", i))
            .await
            .expect("append");
    }
    assert!(ledger.verify().await.expect("verify").ok);
}

async fn assert_bad(ledger: &Ledger, seq: u64, what: &str) {
    let report = ledger.verify().await.expect("verify runs");
    assert!(!report.ok, "{what}: verify must fail");
    assert_eq!(report.first_bad_seq, Some(seq), "{what}: {report:?}");
    assert!(
        report
            .reason
            .is_some_and(|r| r.contains(&format!("seq {seq}"))),
        "{what}"
    );
}

/// Tampering through raw SQL on the store; each case on its own ledger.
pub mod tamper {
    use super::*;

    pub async fn edited_field(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        raw.exec("UPDATE ledger_events SET rationale = 'nothing to see' WHERE seq = 3")
            .await;
        assert_bad(ledger, 3, "edited rationale").await;
    }

    pub async fn edited_json_keeping_value(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        // Same JSON value, different bytes: still an edit of the record.
        raw.exec("UPDATE ledger_events SET statistics = ' ' || statistics WHERE seq = 4")
            .await;
        assert_bad(ledger, 4, "re-encoded statistics").await;
    }

    pub async fn deleted_row(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        raw.exec("DELETE FROM ledger_events WHERE seq = 4").await;
        assert_bad(ledger, 4, "deleted row").await;
    }

    pub async fn deleted_tail(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        raw.exec("DELETE FROM ledger_events WHERE seq >= 5").await;
        assert_bad(ledger, 5, "deleted last rows").await;
    }

    pub async fn swapped_rows(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        raw.exec(
            "UPDATE ledger_events SET seq = -3 WHERE seq = 3;
             UPDATE ledger_events SET seq = 3 WHERE seq = 4;
             UPDATE ledger_events SET seq = 4 WHERE seq = -3;",
        )
        .await;
        assert_bad(ledger, 3, "swapped rows").await;
    }

    pub async fn inserted_row(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        // A well-formed event slipped in at the end, behind the ledger's back.
        raw.exec(
            "INSERT INTO ledger_events (seq, time_ms, rollout, kind, actor, idempotency_key, \
               inputs, statistics, policy, rationale, prev_hash, hash) \
             SELECT 7, time_ms, rollout, kind, actor, NULL, inputs, statistics, policy, \
               'forged', hash, hash FROM ledger_events WHERE seq = 6",
        )
        .await;
        assert_bad(ledger, 7, "inserted row").await;
    }

    pub async fn inserted_in_the_middle(ledger: &Ledger, raw: &Raw) {
        seed(ledger, 6).await;
        // Shift 4.. up by one and put a forged event at 4.
        raw.exec(
            "UPDATE ledger_events SET seq = -seq WHERE seq >= 4;
             UPDATE ledger_events SET seq = 1 - seq WHERE seq < 0;
             INSERT INTO ledger_events (seq, time_ms, rollout, kind, actor, idempotency_key, \
               inputs, statistics, policy, rationale, prev_hash, hash) \
             SELECT 4, time_ms, rollout, kind, actor, NULL, inputs, statistics, policy, \
               'forged', hash, hash FROM ledger_events WHERE seq = 3;
             UPDATE ledger_chain SET head_seq = 7;",
        )
        .await;
        assert_bad(ledger, 4, "row inserted in the middle").await;
    }
}
