//! Streaming verification of the hash chain.
//!
//! A store reads the chain state (prune anchor and recorded head) and then
//! feeds every stored event in `seq` order to a [`ChainVerifier`], which
//! recomputes each hash from the stored bytes and stops at the first problem:
//!
//! - a missing `seq` (a deleted row, or rows renumbered by an insertion);
//! - a `prev_hash` that is not the hash of the event before (an inserted,
//!   removed or swapped row);
//! - a `hash` that does not match the event's contents (an edited field);
//! - events past, or missing before, the head the ledger recorded at its last
//!   commit (rows appended behind the ledger's back, or cut off the end).
//!
//! The chain proves that nothing changed *relative to the anchor and head
//! rows*; someone who can rewrite the whole file can rewrite those too. Ship
//! `export` output or the head hash elsewhere to anchor it externally.

use serde::{Deserialize, Serialize};

use crate::event::StoredParts;

/// The result of [`crate::Ledger::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// True when every stored event checks out.
    pub ok: bool,
    /// Events examined (stored events, not counting pruned ones).
    pub events: u64,
    /// Events removed by retention before the anchor; the chain is checked
    /// from the anchor on.
    pub pruned: u64,
    /// Seq of the last pruned event (0 when nothing was pruned).
    pub anchor_seq: u64,
    /// Seq and hash of the last event the ledger recorded.
    pub head_seq: u64,
    pub head_hash: String,
    /// The first seq that fails, when `ok` is false.
    pub first_bad_seq: Option<u64>,
    /// Why it fails, for a person.
    pub reason: Option<String>,
}

/// The chain bookkeeping every store keeps next to its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainState {
    pub head_seq: u64,
    pub head_hash: String,
    pub anchor_seq: u64,
    pub anchor_hash: String,
    pub pruned: u64,
}

/// Checks events one by one; see the module doc.
pub(crate) struct ChainVerifier {
    chain: ChainState,
    expected_seq: u64,
    prev_hash: String,
    events: u64,
    buf: Vec<u8>,
    bad: Option<(u64, String)>,
}

impl ChainVerifier {
    pub fn new(chain: ChainState) -> Self {
        Self {
            expected_seq: chain.anchor_seq + 1,
            prev_hash: chain.anchor_hash.clone(),
            chain,
            events: 0,
            buf: Vec::with_capacity(1024),
            bad: None,
        }
    }

    /// Records a row that cannot even be read as an event (e.g. a negative
    /// seq or a NULL where text belongs).
    pub fn fail(&mut self, seq: u64, reason: String) {
        if self.bad.is_none() {
            self.bad = Some((seq, reason));
        }
    }

    /// Checks a row read as its ten text columns (rollout, kind, actor,
    /// idempotency_key, inputs, statistics, policy, rationale, prev_hash, hash;
    /// `None` for the whole when one is not text). A NULL where text is
    /// required means the row was edited.
    pub fn check_row(&mut self, seq: u64, time_ms: i64, fields: Option<Vec<Option<&str>>>) -> bool {
        let parts = fields.and_then(|f| {
            Some((
                StoredParts {
                    seq,
                    time_ms,
                    rollout: (*f.first()?)?,
                    kind: (*f.get(1)?)?,
                    actor: (*f.get(2)?)?,
                    idempotency_key: *f.get(3)?,
                    inputs: (*f.get(4)?)?,
                    statistics: (*f.get(5)?)?,
                    policy: *f.get(6)?,
                    rationale: (*f.get(7)?)?,
                    prev_hash: (*f.get(8)?)?,
                },
                (*f.get(9)?)?,
            ))
        });
        match parts {
            Some((parts, hash)) => self.check(&parts, hash),
            None => {
                self.fail(
                    seq,
                    format!("event seq {seq}: a field is NULL or not text: the row was edited"),
                );
                false
            }
        }
    }

    /// Checks the next stored event; returns false once the chain is broken.
    pub fn check(&mut self, parts: &StoredParts<'_>, hash: &str) -> bool {
        if self.bad.is_some() {
            return false;
        }
        self.events += 1;
        let seq = parts.seq;
        if seq > self.chain.head_seq {
            self.fail(
                seq,
                format!(
                    "event seq {seq} is past the ledger head (seq {}): it was added outside the ledger",
                    self.chain.head_seq
                ),
            );
        } else if seq > self.expected_seq {
            self.fail(
                self.expected_seq,
                format!(
                    "event seq {} is missing (the next stored event is seq {seq}): events were deleted",
                    self.expected_seq
                ),
            );
        } else if seq < self.expected_seq {
            self.fail(
                seq,
                format!(
                    "event seq {seq} lies at or before the retention anchor (seq {})",
                    self.chain.anchor_seq
                ),
            );
        } else if parts.prev_hash != self.prev_hash {
            self.fail(
                seq,
                format!(
                    "event seq {seq}: prev_hash does not match the hash of the event before it: events were inserted, removed or reordered"
                ),
            );
        } else if parts.hash_with(&mut self.buf) != hash {
            self.fail(
                seq,
                format!("event seq {seq}: hash does not match its contents: the event was edited"),
            );
        }
        if self.bad.is_some() {
            return false;
        }
        self.prev_hash.clear();
        self.prev_hash.push_str(hash);
        self.expected_seq = seq + 1;
        true
    }

    /// Final checks against the recorded head, and the report.
    pub fn finish(mut self) -> VerifyReport {
        if self.bad.is_none() {
            let last = self.expected_seq - 1;
            if last < self.chain.head_seq {
                self.fail(
                    last + 1,
                    format!(
                        "events seq {}..={} are missing: the ledger head records seq {} but the last stored event is seq {last}",
                        last + 1,
                        self.chain.head_seq,
                        self.chain.head_seq
                    ),
                );
            } else if self.prev_hash != self.chain.head_hash {
                self.fail(
                    last,
                    format!(
                        "event seq {last}: hash differs from the head hash the ledger recorded"
                    ),
                );
            }
        }
        let (first_bad_seq, reason) = match self.bad {
            Some((seq, reason)) => (Some(seq), Some(reason)),
            None => (None, None),
        };
        VerifyReport {
            ok: first_bad_seq.is_none(),
            events: self.events,
            pruned: self.chain.pruned,
            anchor_seq: self.chain.anchor_seq,
            head_seq: self.chain.head_seq,
            head_hash: self.chain.head_hash,
            first_bad_seq,
            reason,
        }
    }
}
