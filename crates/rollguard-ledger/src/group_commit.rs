//! Group commit: the shared part of every store's single writer.
//!
//! Callers send [`AppendRequest`]s over a channel. The writer takes the first
//! waiting request, drains whatever else is already queued (up to
//! [`MAX_BATCH_EVENTS`]), chains all of them with [`plan_batch`] and commits
//! them in one transaction; only then does each caller get its events back.
//! While one batch is being made durable the next one queues up, so the cost
//! of an fsync is shared by every append that arrived during it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

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
/// event back and is not inserted. The callers' fields are moved out of
/// `batch`; its canonical texts remain for the inserts.
pub(crate) fn plan_batch(
    batch: &mut [AppendRequest],
    head_seq: u64,
    head_hash: &str,
    existing: HashMap<String, Event>,
) -> BatchPlan {
    let mut seq = head_seq;
    let mut hash = head_hash.to_string();
    let mut buf = Vec::with_capacity(1024);
    let mut replies: Vec<Vec<Event>> = Vec::with_capacity(batch.len());
    let mut inserts = Vec::new();
    // Keys chained earlier in this batch, to the position of their event.
    let mut in_batch: HashMap<String, (usize, usize)> = HashMap::new();
    for (ri, req) in batch.iter_mut().enumerate() {
        let mut out = Vec::with_capacity(req.events.len());
        for prepared in &mut req.events {
            if let Some(key) = &prepared.event.idempotency_key {
                if let Some(found) = existing.get(key) {
                    out.push(found.clone());
                    continue;
                }
                if let Some(&(r, e)) = in_batch.get(key) {
                    let found = if r == ri {
                        out[e].clone()
                    } else {
                        replies[r][e].clone()
                    };
                    out.push(found);
                    continue;
                }
                in_batch.insert(key.clone(), (ri, out.len()));
            }
            seq += 1;
            let event = prepared.chain(seq, &hash, &mut buf);
            hash.clone_from(&event.hash);
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

/// Counters of a store's writer (see [`crate::Ledger::writer_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriterStats {
    /// Transactions committed by the writer.
    pub commits: u64,
    /// Events inserted by those transactions.
    pub events: u64,
    /// Append requests answered (including idempotent hits and failures).
    pub requests: u64,
    /// Wall time spent inside commit transactions, microseconds.
    pub commit_micros: u64,
}

/// Shared counters the writer updates after each batch.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    commits: AtomicU64,
    events: AtomicU64,
    requests: AtomicU64,
    commit_micros: AtomicU64,
}

impl WriterCounters {
    pub fn record(&self, requests: usize, inserted: usize, elapsed: std::time::Duration) {
        self.requests.fetch_add(requests as u64, Ordering::Relaxed);
        if inserted > 0 {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.events.fetch_add(inserted as u64, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.commit_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            commit_micros: self.commit_micros.load(Ordering::Relaxed),
        }
    }
}

/// The callers' end of a store's writer.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    pub location: std::sync::Arc<str>,
    pub tx: mpsc::Sender<AppendRequest>,
    pub counters: std::sync::Arc<WriterCounters>,
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
