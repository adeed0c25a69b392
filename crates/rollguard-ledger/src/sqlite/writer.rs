//! The SQLite store's single writer: a dedicated thread that owns the write
//! connection and commits each group of appends in one `BEGIN IMMEDIATE`
//! transaction (WAL, `synchronous = FULL`: the commit is fsynced before any
//! caller is answered).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::mpsc;

use super::rows::{read_chain, row_to_event, to_i64};
use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::group_commit::{
    AppendRequest, WriterCounters, batch_keys, drain_batch, plan_batch, reply_all,
};
use crate::schema::EVENT_COLUMNS;

/// Runs until every sender is dropped.
pub(crate) fn run(
    location: String,
    mut conn: Connection,
    mut rx: mpsc::Receiver<AppendRequest>,
    counters: Arc<WriterCounters>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = drain_batch(first, &mut rx);
        let started = Instant::now();
        let result = commit_batch(&location, &mut conn, &mut batch);
        let inserted = result.as_ref().map_or(0, |(_, n)| *n);
        counters.record(batch.len(), inserted, started.elapsed());
        reply_all(batch, result.map(|(replies, _)| replies));
    }
}

fn commit_batch(
    location: &str,
    conn: &mut Connection,
    batch: &mut [AppendRequest],
) -> Result<(Vec<Vec<Event>>, usize)> {
    let sql = |op| move |e| LedgerError::sqlite(location, op, e);
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("starting the append transaction"))?;
    let chain = read_chain(location, &tx)?;
    let mut existing = HashMap::new();
    {
        let mut by_key = tx
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM ledger_events WHERE idempotency_key = ?1"
            ))
            .map_err(sql("preparing the idempotency lookup"))?;
        for key in batch_keys(batch) {
            let found = by_key
                .query_row([&key], |row| Ok(row_to_event(location, row)))
                .optional()
                .map_err(sql("looking up an idempotency key"))?;
            if let Some(event) = found {
                existing.insert(key, event?);
            }
        }
    }
    let plan = plan_batch(batch, chain.head_seq, &chain.head_hash, existing);
    {
        let mut insert = tx
            .prepare_cached(&format!(
                "INSERT INTO ledger_events ({EVENT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))
            .map_err(sql("preparing the insert"))?;
        for &(ri, ei) in &plan.inserts {
            let event = &plan.replies[ri][ei];
            let prepared = &batch[ri].events[ei];
            insert
                .execute(params![
                    to_i64(location, event.seq)?,
                    event.time_ms,
                    event.rollout,
                    event.kind,
                    event.actor,
                    event.idempotency_key,
                    prepared.inputs,
                    prepared.statistics,
                    prepared.policy,
                    event.rationale,
                    event.prev_hash,
                    event.hash,
                ])
                .map_err(sql("inserting an event"))?;
        }
    }
    if !plan.inserts.is_empty() {
        tx.execute(
            "UPDATE ledger_chain SET head_seq = ?1, head_hash = ?2 WHERE id = 1",
            params![to_i64(location, plan.head_seq)?, plan.head_hash],
        )
        .map_err(sql("updating the chain head"))?;
    }
    tx.commit().map_err(sql("committing appended events"))?;
    Ok((plan.replies, plan.inserts.len()))
}
