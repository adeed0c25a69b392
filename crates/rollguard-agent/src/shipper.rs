//! Ships the agent's buffered events to the controller, in the buffer's seq
//! order, in batches; a batch counts as shipped only once the controller has
//! stored it (its reply comes after the ledger commit). The position shipped
//! so far is kept in a file next to the buffer, written after each
//! acknowledgement: a crash between the two re-sends a batch, and the
//! controller's idempotency keys make that a no-op. Nothing is ever dropped:
//! a refused batch is retried (and logged) until it is accepted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rollguard_controller::protocol::{ShipEvents, ShipReply};
use rollguard_ledger::{Event, EventFilter, Ledger, NewEvent};
use tokio::sync::{Notify, watch};

use crate::client::ControllerClient;

/// Events per request.
pub const BATCH: usize = 256;

#[derive(Debug, Default)]
pub struct ShipStats {
    /// Highest buffer seq the controller acknowledged.
    pub shipped_seq: AtomicU64,
    /// Events acknowledged since start.
    pub shipped: AtomicU64,
}

pub struct Shipper {
    pub buffer: Ledger,
    pub client: Arc<ControllerClient>,
    pub cursor_path: PathBuf,
    pub stats: Arc<ShipStats>,
    pub interval: Duration,
}

fn to_new(e: Event) -> NewEvent {
    NewEvent {
        time_ms: e.time_ms,
        rollout: e.rollout,
        kind: e.kind,
        actor: e.actor,
        idempotency_key: e.idempotency_key,
        inputs: e.inputs,
        statistics: e.statistics,
        policy: e.policy,
        rationale: e.rationale,
    }
}

/// The shipped position stored at `path` (0 when absent).
pub fn read_cursor(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn write_cursor(path: &Path, seq: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{seq}\n"))?;
    std::fs::rename(&tmp, path)
}

impl Shipper {
    /// Ships what is buffered after the cursor; returns how many were acknowledged.
    pub async fn ship_pending(&self) -> Result<usize, String> {
        let mut cursor = self.stats.shipped_seq.load(Ordering::Relaxed);
        let mut total = 0;
        loop {
            let events = self
                .buffer
                .events(EventFilter {
                    rollout: None,
                    after_seq: Some(cursor),
                    limit: Some(BATCH),
                })
                .await
                .map_err(|e| format!("reading the buffer: {e}"))?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(total);
            };
            let n = events.len();
            let body = ShipEvents {
                events: events.into_iter().map(to_new).collect(),
            };
            let _: ShipReply = self
                .client
                .post("/v1/events", &body)
                .await
                .map_err(|e| e.to_string())?;
            cursor = last;
            self.stats.shipped_seq.store(last, Ordering::Relaxed);
            self.stats.shipped.fetch_add(n as u64, Ordering::Relaxed);
            if let Err(e) = write_cursor(&self.cursor_path, last) {
                tracing::warn!(path = %self.cursor_path.display(), error = %e, "cannot save the shipped position (events will be re-sent, harmlessly)");
            }
            total += n;
            if n < BATCH {
                return Ok(total);
            }
        }
    }

    /// Ships every `interval` or when woken, until `stop`; then one last try.
    pub async fn run(self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let mut failing = false;
        loop {
            match self.ship_pending().await {
                Ok(n) => {
                    if failing {
                        tracing::info!(
                            shipped = n,
                            "controller reachable again: buffered events shipped"
                        );
                    }
                    failing = false;
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!("cannot ship events yet (kept in the buffer): {e}");
                    }
                    failing = true;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = wake.notified() => {}
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    if let Err(e) = self.ship_pending().await {
                        tracing::warn!("stopping with events still buffered (shipped on the next start): {e}");
                    }
                    return;
                }
            }
        }
    }
}
