//! Group commit: the shared part of every store's single writer.
//!
//! Callers send [`AppendRequest`]s over a channel. The writer takes the first
//! waiting request, drains whatever else is already queued (up to
//! [`MAX_BATCH_EVENTS`]), chains all of them with [`plan_batch`] and commits
//! them in one transaction; only then does each caller get its events back.
//! While one batch is being made durable the next one queues up, so the cost
//! of an fsync is shared by every append that arrived during it.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use crate::error::Result;
use crate::event::{Event, PreparedEvent};

/// Most events one transaction takes; more wait for the next batch.
pub(crate) const MAX_BATCH_EVENTS: usize = 16_384;

/// Depth of the channel to the writer; senders wait when it is full.
pub(crate) const QUEUE_DEPTH: usize = 8_192;

/// One caller's append (one event, or a batch that must commit together).
pub(crate) struct AppendRequest {
    pub events: Vec<PreparedEvent>,
    pub reply: oneshot::Sender<Result<Vec<Event>>>,
}

/// Takes `first` and whatever is already queued behind it.
pub(crate) fn drain_batch(
    first: AppendRequest,
    rx: &mut mpsc::Receiver<AppendRequest>,
) -> Vec<AppendRequest> {
    let mut n = first.events.len();
    let mut batch = vec![first];
    while n < MAX_BATCH_EVENTS {
        match rx.try_recv() {
            Ok(req) => {
                n += req.events.len();
                batch.push(req);
            }
            Err(_) => break,
        }
    }
    batch
}

/// Sends each caller its result: its events on success, the batch's error to
/// everyone otherwise (nothing of the batch was committed then).
pub(crate) fn reply_all(batch: Vec<AppendRequest>, result: Result<Vec<Vec<Event>>>) {
    match result {
        Ok(replies) => {
            for (req, events) in batch.into_iter().zip(replies) {
                // A caller that gave up waiting still has its event recorded.
                let _ = req.reply.send(Ok(events));
            }
        }
        Err(err) => {
            for req in batch {
                let _ = req.reply.send(Err(err.clone()));
            }
        }
    }
}

/// The idempotency keys of a batch, deduplicated, for the store to look up.
pub(crate) fn batch_keys(batch: &[AppendRequest]) -> Vec<String> {
    let mut keys: Vec<String> = batch
        .iter()
        .flat_map(|r| r.events.iter())
        .filter_map(|e| e.event.idempotency_key.clone())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A batch chained onto the ledger head.
pub(crate) struct BatchPlan {
    /// What each request gets back, in request order.
    pub replies: Vec<Vec<Event>>,
    /// Events to insert, as (request index, event index) into `replies`, in
    /// seq order.
    pub inserts: Vec<(usize, usize)>,
    pub head_seq: u64,
    pub head_hash: String,
}

/// Chains `batch` after (`head_seq`, `head_hash`). An event whose idempotency
/// key is in `existing` (already stored) or earlier in this batch gets that
/// event back and is not inserted.
pub(crate) fn plan_batch(
    batch: &[AppendRequest],
    head_seq: u64,
    head_hash: &str,
    mut existing: HashMap<String, Event>,
) -> BatchPlan {
    let mut seq = head_seq;
    let mut hash = head_hash.to_string();
    let mut buf = Vec::with_capacity(1024);
    let mut replies = Vec::with_capacity(batch.len());
    let mut inserts = Vec::new();
    for (ri, req) in batch.iter().enumerate() {
        let mut out = Vec::with_capacity(req.events.len());
        for prepared in &req.events {
            if let Some(key) = &prepared.event.idempotency_key
                && let Some(found) = existing.get(key)
            {
                out.push(found.clone());
                continue;
            }
            seq += 1;
            let event = prepared.chain(seq, &hash, &mut buf);
            hash.clone_from(&event.hash);
            if let Some(key) = &event.idempotency_key {
                existing.insert(key.clone(), event.clone());
            }
            inserts.push((ri, out.len()));
            out.push(event);
        }
        replies.push(out);
    }
    BatchPlan {
        replies,
        inserts,
        head_seq: seq,
        head_hash: hash,
    }
}

/// The callers' end of a store's writer.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    pub location: std::sync::Arc<str>,
    pub tx: mpsc::Sender<AppendRequest>,
}

impl WriterHandle {
    /// Checks the events, queues them as one request and waits until the
    /// batch holding them is committed.
    pub async fn submit(&self, events: Vec<crate::NewEvent>) -> Result<Vec<Event>> {
        let events = events
            .into_iter()
            .map(PreparedEvent::prepare)
            .collect::<Result<Vec<_>>>()?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        let stopped = || crate::LedgerError::WriterStopped {
            location: self.location.to_string(),
        };
        self.tx
            .send(AppendRequest { events, reply })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}
