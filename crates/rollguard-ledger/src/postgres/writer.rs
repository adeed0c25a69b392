//! The PostgreSQL store's single writer: a tokio task that owns one
//! connection and commits each group of appends in one transaction. The
//! chain head row is locked (`FOR UPDATE`) first, so writers in several
//! controller replicas still build one chain. Events of a batch are inserted
//! with one `INSERT ... SELECT FROM UNNEST(...)` round trip.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_postgres::{Client, Config};

use super::rows::{chain_from_row, row_to_event, to_i64};
use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::group_commit::{
    AppendRequest, WriterCounters, batch_keys, drain_batch, plan_batch, reply_all,
};
use crate::schema::EVENT_COLUMNS;

/// Runs until every sender is dropped.
pub(crate) async fn run(
    location: String,
    config: Config,
    mut client: Client,
    mut rx: mpsc::Receiver<AppendRequest>,
    counters: Arc<WriterCounters>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = drain_batch(first, &mut rx);
        let started = Instant::now();
        if client.is_closed() {
            // The server dropped us (restart, failover): one fresh attempt
            // per batch; a failure is reported to this batch's callers.
            match super::connect::connect(&location, &config).await {
                Ok(fresh) => client = fresh,
                Err(e) => {
                    reply_all(batch, Err(e));
                    continue;
                }
            }
        }
        let result = commit_batch(&location, &mut client, &mut batch).await;
        let inserted = result.as_ref().map_or(0, |(_, n)| *n);
        counters.record(batch.len(), inserted, started.elapsed());
        reply_all(batch, result.map(|(replies, _)| replies));
    }
}

async fn commit_batch(
    location: &str,
    client: &mut Client,
    batch: &mut [AppendRequest],
) -> Result<(Vec<Vec<Event>>, usize)> {
    let pg = |op| move |e| LedgerError::postgres(location, op, e);
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the append transaction"))?;
    let row = tx
        .query_one(
            "SELECT head_seq, head_hash, anchor_seq, anchor_hash, pruned \
             FROM ledger_chain WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(pg("locking the chain head"))?;
    let chain = chain_from_row(location, &row)?;
    let keys = batch_keys(batch);
    let mut existing = HashMap::new();
    if !keys.is_empty() {
        let rows = tx
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM ledger_events WHERE idempotency_key = ANY($1)"
                ),
                &[&keys],
            )
            .await
            .map_err(pg("looking up idempotency keys"))?;
        for row in &rows {
            let event = row_to_event(location, row)?;
            if let Some(key) = event.idempotency_key.clone() {
                existing.insert(key, event);
            }
        }
    }
    let plan = plan_batch(batch, chain.head_seq, &chain.head_hash, existing);
    if !plan.inserts.is_empty() {
        let n = plan.inserts.len();
        let mut seq = Vec::with_capacity(n);
        let mut time_ms = Vec::with_capacity(n);
        let (mut rollout, mut kind, mut actor, mut rationale) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut key, mut inputs, mut statistics, mut policy) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut prev_hash, mut hash) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for &(ri, ei) in &plan.inserts {
            let event = &plan.replies[ri][ei];
            let prepared = &batch[ri].events[ei];
            seq.push(to_i64(location, event.seq)?);
            time_ms.push(event.time_ms);
            rollout.push(event.rollout.as_str());
            kind.push(event.kind.as_str());
            actor.push(event.actor.as_str());
            key.push(event.idempotency_key.as_deref());
            inputs.push(prepared.inputs.as_str());
            statistics.push(prepared.statistics.as_str());
            policy.push(prepared.policy.as_deref());
            rationale.push(event.rationale.as_str());
            prev_hash.push(event.prev_hash.as_str());
            hash.push(event.hash.as_str());
        }
        tx.execute(
            &format!(
                "INSERT INTO ledger_events ({EVENT_COLUMNS}) SELECT * FROM UNNEST(\
                 $1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])"
            ),
            &[
                &seq,
                &time_ms,
                &rollout,
                &kind,
                &actor,
                &key,
                &inputs,
                &statistics,
                &policy,
                &rationale,
                &prev_hash,
                &hash,
            ],
        )
        .await
        .map_err(pg("inserting events"))?;
        tx.execute(
            "UPDATE ledger_chain SET head_seq = $1, head_hash = $2 WHERE id = 1",
            &[&to_i64(location, plan.head_seq)?, &plan.head_hash],
        )
        .await
        .map_err(pg("updating the chain head"))?;
    }
    tx.commit()
        .await
        .map_err(pg("committing appended events"))?;
    Ok((plan.replies, plan.inserts.len()))
}
