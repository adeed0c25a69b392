//! Reading SQLite rows into events and chain state.

use rusqlite::Row;

use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::verify::ChainState;

/// seq as SQLite stores it.
pub(crate) fn to_i64(location: &str, seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| LedgerError::InvalidEvent {
        field: "seq",
        detail: format!("{seq} does not fit a 64-bit signed integer ({location})"),
    })
}

fn to_u64(location: &str, seq: i64, field: &'static str) -> Result<u64> {
    u64::try_from(seq).map_err(|_| LedgerError::CorruptRow {
        location: location.to_string(),
        seq,
        field,
        detail: "negative".into(),
    })
}

/// The single `ledger_chain` row.
pub(crate) fn read_chain(location: &str, conn: &rusqlite::Connection) -> Result<ChainState> {
    let (head_seq, head_hash, anchor_seq, anchor_hash, pruned): (i64, String, i64, String, i64) =
        conn.query_row(
            "SELECT head_seq, head_hash, anchor_seq, anchor_hash, pruned FROM ledger_chain WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(|e| LedgerError::sqlite(location, "reading ledger_chain", e))?;
    Ok(ChainState {
        head_seq: to_u64(location, head_seq, "ledger_chain.head_seq")?,
        head_hash,
        anchor_seq: to_u64(location, anchor_seq, "ledger_chain.anchor_seq")?,
        anchor_hash,
        pruned: to_u64(location, pruned, "ledger_chain.pruned")?,
    })
}

/// A row selected with [`crate::schema::EVENT_COLUMNS`] as an [`Event`].
pub(crate) fn row_to_event(location: &str, row: &Row<'_>) -> Result<Event> {
    let seq: i64 = row
        .get(0)
        .map_err(|e| LedgerError::sqlite(location, "reading seq", e))?;
    let corrupt = |field: &'static str, detail: String| LedgerError::CorruptRow {
        location: location.to_string(),
        seq,
        field,
        detail,
    };
    let text = |idx: usize, field: &'static str| -> Result<String> {
        row.get::<_, String>(idx)
            .map_err(|e| corrupt(field, e.to_string()))
    };
    let opt_text = |idx: usize, field: &'static str| -> Result<Option<String>> {
        row.get::<_, Option<String>>(idx)
            .map_err(|e| corrupt(field, e.to_string()))
    };
    let json = |s: String, field: &'static str| -> Result<serde_json::Value> {
        serde_json::from_str(&s).map_err(|e| corrupt(field, format!("invalid JSON: {e}")))
    };
    Ok(Event {
        seq: to_u64(location, seq, "seq")?,
        time_ms: row.get(1).map_err(|e| corrupt("time_ms", e.to_string()))?,
        rollout: text(2, "rollout")?,
        kind: text(3, "kind")?,
        actor: text(4, "actor")?,
        idempotency_key: opt_text(5, "idempotency_key")?,
        inputs: json(text(6, "inputs")?, "inputs")?,
        statistics: json(text(7, "statistics")?, "statistics")?,
        policy: opt_text(8, "policy")?
            .map(|p| json(p, "policy"))
            .transpose()?,
        rationale: text(9, "rationale")?,
        prev_hash: text(10, "prev_hash")?,
        hash: text(11, "hash")?,
    })
}
