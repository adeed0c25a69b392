//! Ledger events and their hash chain.
//!
//! An [`Event`] is a [`NewEvent`] once the ledger has given it a `seq`, the
//! hash of the event before it (`prev_hash`) and its own `hash`.
//!
//! # Canonical encoding (stable)
//!
//! The bytes hashed for an event are `prev_hash || canonical(event)`, where
//! `prev_hash` is the 64 lowercase hex characters of the previous event's hash
//! ([`GENESIS_HASH`], 64 zeros, for the first event) and `canonical(event)` is
//! the JSON object of every field except `hash`, in the canonical JSON of
//! [`crate::canonical`] (sorted keys, no whitespace). With the keys in their
//! sorted order that is:
//!
//! ```text
//! {"actor":S,"idempotency_key":S|null,"inputs":J,"kind":S,"policy":J|null,
//!  "prev_hash":S,"rationale":S,"rollout":S,"seq":N,"statistics":J,"time_ms":N}
//! ```
//!
//! (on one line), `S` a canonical string, `J` a canonical JSON value, `N` a
//! decimal integer. `hash` = lowercase hex of SHA-256 over those bytes.
//! `policy: Some(null)` is the same as `None`.
//!
//! Stores keep `inputs`, `statistics` and `policy` as their canonical JSON
//! text, so verification hashes the stored bytes without re-parsing them; any
//! change to the stored text, even one that keeps the JSON value, breaks the
//! chain.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical;

/// `prev_hash` of the first event of a ledger.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as a caller hands it to the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Wall-clock time of the decision, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Rollout the event belongs to.
    pub rollout: String,
    /// What happened: free string chosen by the caller (`rollout_started`,
    /// `weight_set`, `decision`, `promoted`, `rolled_back`, `hook`, ...).
    pub kind: String,
    /// Who or what acted (`controller`, `agent/eu-1`, `user:alice`, ...).
    pub actor: String,
    /// Key of the action this event records; a second append with the same key
    /// returns the first event and writes nothing.
    pub idempotency_key: Option<String>,
    /// Aggregated telemetry the decision saw (never raw requests).
    pub inputs: serde_json::Value,
    /// E-values, estimates, intervals.
    pub statistics: serde_json::Value,
    /// Policy bundle hash and result, once policy exists.
    pub policy: Option<serde_json::Value>,
    /// Why, for a person.
    pub rationale: String,
}

/// An event as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub time_ms: i64,
    pub rollout: String,
    pub kind: String,
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub inputs: serde_json::Value,
    pub statistics: serde_json::Value,
    pub policy: Option<serde_json::Value>,
    pub rationale: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// The canonical bytes of this event (every field but `hash`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let inputs = canonical::to_string(&self.inputs);
        let statistics = canonical::to_string(&self.statistics);
        let policy = self.policy.as_ref().map(canonical::to_string);
        let mut out = Vec::with_capacity(256);
        StoredParts {
            seq: self.seq,
            time_ms: self.time_ms,
            rollout: &self.rollout,
            kind: &self.kind,
            actor: &self.actor,
            idempotency_key: self.idempotency_key.as_deref(),
            inputs: &inputs,
            statistics: &statistics,
            policy: policy.as_deref(),
            rationale: &self.rationale,
            prev_hash: &self.prev_hash,
        }
        .write_canonical(&mut out);
        out
    }

    /// Recomputes the hash from the fields; equal to `self.hash` unless the
    /// event was altered.
    pub fn compute_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical_bytes())
    }
}

/// SHA-256 of `prev_hash || canonical`, lowercase hex.
pub fn chain_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical);
    hex::encode(hasher.finalize())
}

/// An event in the form the stores keep it: JSON fields already canonical text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredParts<'a> {
    pub seq: u64,
    pub time_ms: i64,
    pub rollout: &'a str,
    pub kind: &'a str,
    pub actor: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub inputs: &'a str,
    pub statistics: &'a str,
    pub policy: Option<&'a str>,
    pub rationale: &'a str,
    pub prev_hash: &'a str,
}

impl StoredParts<'_> {
    /// Appends the canonical encoding (see the module doc) to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"actor\":");
        canonical::write_str(out, self.actor);
        out.extend_from_slice(b",\"idempotency_key\":");
        match self.idempotency_key {
            Some(key) => canonical::write_str(out, key),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"inputs\":");
        out.extend_from_slice(self.inputs.as_bytes());
        out.extend_from_slice(b",\"kind\":");
        canonical::write_str(out, self.kind);
        out.extend_from_slice(b",\"policy\":");
        out.extend_from_slice(self.policy.unwrap_or("null").as_bytes());
        out.extend_from_slice(b",\"prev_hash\":");
        canonical::write_str(out, self.prev_hash);
        out.extend_from_slice(b",\"rationale\":");
        canonical::write_str(out, self.rationale);
        out.extend_from_slice(b",\"rollout\":");
        canonical::write_str(out, self.rollout);
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"statistics\":");
        out.extend_from_slice(self.statistics.as_bytes());
        out.extend_from_slice(b",\"time_ms\":");
        out.extend_from_slice(self.time_ms.to_string().as_bytes());
        out.push(b'}');
    }

    /// The chain hash of these parts, reusing `buf` for the canonical bytes.
    pub fn hash_with(&self, buf: &mut Vec<u8>) -> String {
        buf.clear();
        self.write_canonical(buf);
        chain_hash(self.prev_hash, buf)
    }
}

/// A [`NewEvent`] checked and with its JSON fields in canonical text, ready
/// to be chained by a store's writer.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEvent {
    pub event: NewEvent,
    pub inputs: String,
    pub statistics: String,
    pub policy: Option<String>,
}

impl PreparedEvent {
    /// Checks the fields a store relies on and canonicalises the JSON fields.
    pub fn prepare(mut event: NewEvent) -> Result<Self, crate::LedgerError> {
        let invalid = |field: &'static str, detail: &str| crate::LedgerError::InvalidEvent {
            field,
            detail: detail.to_string(),
        };
        if event.rollout.is_empty() {
            return Err(invalid("rollout", "must not be empty"));
        }
        if event.kind.is_empty() {
            return Err(invalid("kind", "must not be empty"));
        }
        if event.idempotency_key.as_deref() == Some("") {
            return Err(invalid(
                "idempotency_key",
                "must not be empty (use None for no key)",
            ));
        }
        for (field, value) in [
            ("rollout", Some(&event.rollout)),
            ("kind", Some(&event.kind)),
            ("actor", Some(&event.actor)),
            ("rationale", Some(&event.rationale)),
            ("idempotency_key", event.idempotency_key.as_ref()),
        ] {
            // PostgreSQL TEXT cannot hold NUL; refuse it on every backend
            // alike. (Inside JSON fields it is escaped and fine.)
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(invalid(field, "must not contain a NUL character"));
            }
        }
        if matches!(event.policy, Some(serde_json::Value::Null)) {
            event.policy = None;
        }
        let inputs = canonical_and_normalised(&mut event.inputs, "inputs")?;
        let statistics = canonical_and_normalised(&mut event.statistics, "statistics")?;
        let policy = match &mut event.policy {
            Some(p) => Some(canonical_and_normalised(p, "policy")?),
            None => None,
        };
        Ok(Self {
            inputs,
            statistics,
            policy,
            event,
        })
    }

    /// Chains this event after `prev_hash` as number `seq`, moving the
    /// caller's fields into the returned [`Event`] (the canonical texts stay
    /// here for the insert).
    pub fn chain(&mut self, seq: u64, prev_hash: &str, buf: &mut Vec<u8>) -> Event {
        let hash = self.parts(seq, prev_hash).hash_with(buf);
        let e = &mut self.event;
        Event {
            seq,
            time_ms: e.time_ms,
            rollout: std::mem::take(&mut e.rollout),
            kind: std::mem::take(&mut e.kind),
            actor: std::mem::take(&mut e.actor),
            idempotency_key: e.idempotency_key.take(),
            inputs: e.inputs.take(),
            statistics: e.statistics.take(),
            policy: e.policy.take(),
            rationale: std::mem::take(&mut e.rationale),
            prev_hash: prev_hash.to_string(),
            hash,
        }
    }

    fn parts<'a>(&'a self, seq: u64, prev_hash: &'a str) -> StoredParts<'a> {
        StoredParts {
            seq,
            time_ms: self.event.time_ms,
            rollout: &self.event.rollout,
            kind: &self.event.kind,
            actor: &self.event.actor,
            idempotency_key: self.event.idempotency_key.as_deref(),
            inputs: &self.inputs,
            statistics: &self.statistics,
            policy: self.policy.as_deref(),
            rationale: &self.event.rationale,
            prev_hash,
        }
    }
}

/// The canonical text of `value`; a value holding floats is replaced by the
/// parse of that text (`1.0` becomes `1`, `-0.0` becomes `0`), so what
/// `append` returns equals what reading the event back gives.
fn canonical_and_normalised(
    value: &mut serde_json::Value,
    field: &'static str,
) -> Result<String, crate::LedgerError> {
    let text = canonical::to_string(value);
    if has_float(value) {
        *value = serde_json::from_str(&text).map_err(|e| crate::LedgerError::InvalidEvent {
            field,
            detail: format!("canonical JSON does not parse back: {e}"),
        })?;
    }
    Ok(text)
}

fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> NewEvent {
        NewEvent {
            time_ms: 1_700_000_000_000,
            rollout: "checkout".into(),
            kind: "decision".into(),
            actor: "controller".into(),
            idempotency_key: Some("checkout/step-1".into()),
            inputs: json!({"canary": {"requests": 100, "errors": 2}, "baseline": {"requests": 900, "errors": 9}}),
            statistics: json!({"e_value": 3.5}),
            policy: Some(json!({"bundle": "abc", "result": "allow"})),
            rationale: "canary error rate within margin".into(),
        }
    }

    /// Pins the encoding: if this changes, every stored chain breaks.
    #[test]
    fn golden_canonical_bytes_and_hash() {
        let mut prepared = PreparedEvent::prepare(sample()).expect("valid");
        let event = prepared.chain(1, GENESIS_HASH, &mut Vec::new());
        let bytes = String::from_utf8(event.canonical_bytes()).expect("utf8");
        assert_eq!(
            bytes,
            concat!(
                r#"{"actor":"controller","idempotency_key":"checkout/step-1","#,
                r#""inputs":{"baseline":{"errors":9,"requests":900},"canary":{"errors":2,"requests":100}},"#,
                r#""kind":"decision","policy":{"bundle":"abc","result":"allow"},"#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""rationale":"canary error rate within margin","rollout":"checkout","seq":1,"#,
                r#""statistics":{"e_value":3.5},"time_ms":1700000000000}"#
            )
        );
        let expected = {
            let mut h = Sha256::new();
            h.update(GENESIS_HASH.as_bytes());
            h.update(bytes.as_bytes());
            hex::encode(h.finalize())
        };
        assert_eq!(event.hash, expected);
        assert_eq!(event.compute_hash(), event.hash);
    }

    #[test]
    fn canonical_bytes_are_sorted_json() {
        let event = PreparedEvent::prepare(sample()).expect("valid").chain(
            7,
            GENESIS_HASH,
            &mut Vec::new(),
        );
        let bytes = event.canonical_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(canonical::to_string(&value).as_bytes(), bytes.as_slice());
    }

    #[test]
    fn any_field_change_changes_the_hash() {
        let base = PreparedEvent::prepare(sample()).expect("valid").chain(
            1,
            GENESIS_HASH,
            &mut Vec::new(),
        );
        let mut edited = base.clone();
        edited.rationale.push('!');
        assert_ne!(edited.compute_hash(), base.hash);
        let mut edited = base.clone();
        edited.seq = 2;
        assert_ne!(edited.compute_hash(), base.hash);
        let mut edited = base.clone();
        edited.statistics = json!({"e_value": 3.6});
        assert_ne!(edited.compute_hash(), base.hash);
    }

    #[test]
    fn rejects_empty_rollout_and_normalises_null_policy() {
        let mut e = sample();
        e.rollout.clear();
        assert!(PreparedEvent::prepare(e).is_err());
        let mut e = sample();
        e.policy = Some(serde_json::Value::Null);
        assert!(
            PreparedEvent::prepare(e)
                .expect("valid")
                .event
                .policy
                .is_none()
        );
    }
}
