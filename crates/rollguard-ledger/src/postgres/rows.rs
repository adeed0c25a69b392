//! Reading PostgreSQL rows into events and chain state, and feeding them to
//! the verifier.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::verify::{ChainState, ChainVerifier};

fn to_u64(location: &str, seq: i64, field: &'static str) -> Result<u64> {
    u64::try_from(seq).map_err(|_| LedgerError::CorruptRow {
        location: location.to_string(),
        seq,
        field,
        detail: "negative".into(),
    })
}

/// seq as PostgreSQL stores it.
pub(crate) fn to_i64(location: &str, seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| LedgerError::InvalidEvent {
        field: "seq",
        detail: format!("{seq} does not fit a 64-bit signed integer ({location})"),
    })
}

/// The `ledger_chain` row from `SELECT head_seq, head_hash, anchor_seq,
/// anchor_hash, pruned`.
pub(crate) fn chain_from_row(location: &str, row: &Row) -> Result<ChainState> {
    let get_i = |i: usize, field: &'static str| -> Result<u64> {
        let v: i64 = row
            .try_get(i)
            .map_err(|e| LedgerError::postgres(location, field, e))?;
        to_u64(location, v, field)
    };
    let get_s = |i: usize, field: &'static str| -> Result<String> {
        row.try_get(i)
            .map_err(|e| LedgerError::postgres(location, field, e))
    };
    Ok(ChainState {
        head_seq: get_i(0, "reading ledger_chain.head_seq")?,
        head_hash: get_s(1, "reading ledger_chain.head_hash")?,
        anchor_seq: get_i(2, "reading ledger_chain.anchor_seq")?,
        anchor_hash: get_s(3, "reading ledger_chain.anchor_hash")?,
        pruned: get_i(4, "reading ledger_chain.pruned")?,
    })
}

/// A row selected with [`crate::schema::EVENT_COLUMNS`] as an [`Event`].
pub(crate) fn row_to_event(location: &str, row: &Row) -> Result<Event> {
    let seq: i64 = row
        .try_get(0)
        .map_err(|e| LedgerError::postgres(location, "reading seq", e))?;
    let corrupt = |field: &'static str, detail: String| LedgerError::CorruptRow {
        location: location.to_string(),
        seq,
        field,
        detail,
    };
    fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> std::result::Result<T, String> {
        row.try_get(i).map_err(|e| e.to_string())
    }
    let json = |s: String, field: &'static str| -> Result<serde_json::Value> {
        serde_json::from_str(&s).map_err(|e| corrupt(field, format!("invalid JSON: {e}")))
    };
    Ok(Event {
        seq: to_u64(location, seq, "seq")?,
        time_ms: get(row, 1).map_err(|e| corrupt("time_ms", e))?,
        rollout: get(row, 2).map_err(|e| corrupt("rollout", e))?,
        kind: get(row, 3).map_err(|e| corrupt("kind", e))?,
        actor: get(row, 4).map_err(|e| corrupt("actor", e))?,
        idempotency_key: get(row, 5).map_err(|e| corrupt("idempotency_key", e))?,
        inputs: json(get(row, 6).map_err(|e| corrupt("inputs", e))?, "inputs")?,
        statistics: json(
            get(row, 7).map_err(|e| corrupt("statistics", e))?,
            "statistics",
        )?,
        policy: get::<Option<String>>(row, 8)
            .map_err(|e| corrupt("policy", e))?
            .map(|p| json(p, "policy"))
            .transpose()?,
        rationale: get(row, 9).map_err(|e| corrupt("rationale", e))?,
        prev_hash: get(row, 10).map_err(|e| corrupt("prev_hash", e))?,
        hash: get(row, 11).map_err(|e| corrupt("hash", e))?,
    })
}

/// Feeds one row to the verifier without copying its text.
pub(crate) fn check_row(verifier: &mut ChainVerifier, row: &Row) -> bool {
    let seq = match row.try_get::<_, i64>(0) {
        Ok(s) if s >= 0 => s as u64,
        _ => {
            verifier.fail(0, "an event has a missing or negative seq".into());
            return false;
        }
    };
    let Ok(time_ms) = row.try_get::<_, i64>(1) else {
        verifier.fail(seq, format!("event seq {seq}: time_ms is not an integer"));
        return false;
    };
    let text = |i: usize| row.try_get::<_, Option<&str>>(i).ok();
    let fields: Option<Vec<Option<&str>>> = (2..12).map(text).collect();
    verifier.check_row(seq, time_ms, fields)
}
