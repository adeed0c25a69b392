//! The one type callers use: [`Ledger`], over SQLite or PostgreSQL.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, Result};
use crate::event::{Event, NewEvent};
use crate::group_commit::WriterStats;
use crate::postgres::PostgresLedger;
use crate::sqlite::SqliteLedger;
use crate::verify::VerifyReport;

/// Which events [`Ledger::events`] returns, always in `seq` order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Only this rollout's events.
    pub rollout: Option<String>,
    /// Only events with a larger seq (for paging and tailing).
    pub after_seq: Option<u64>,
    /// At most this many events.
    pub limit: Option<usize>,
}

/// One line of `rollguard history`: a rollout and its stored events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutSummary {
    pub name: String,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Stored events (pruned ones are not counted).
    pub events: u64,
    /// Kind of the rollout's latest event.
    pub last_kind: String,
}

/// What [`Ledger::prune_before`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Events removed by this call.
    pub pruned: u64,
    /// Events removed over the ledger's life.
    pub pruned_total: u64,
    /// The chain is verified from this seq and hash on.
    pub anchor_seq: u64,
    pub anchor_hash: String,
}

/// A decision ledger: SQLite file or PostgreSQL database. Cheap to clone;
/// clones share one writer.
#[derive(Clone)]
pub enum Ledger {
    Sqlite(SqliteLedger),
    Postgres(PostgresLedger),
}

/// Page size of [`Ledger::export_jsonl`].
const EXPORT_PAGE: usize = 10_000;

impl Ledger {
    /// Opens (or creates) the ledger at `location`: a `postgres://` or
    /// `postgresql://` URL, or a file path (optionally `sqlite://PATH`).
    ///
    /// A SQLite file is created only when it does not exist or is empty. A
    /// file that is not SQLite, a SQLite database that is not a rollguard
    /// ledger, or a ledger with a newer schema is refused with an error naming
    /// the file, and left untouched.
    pub async fn open(location: &str) -> Result<Ledger> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Ok(Ledger::Postgres(PostgresLedger::open(location).await?));
        }
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        if path.is_empty() {
            return Err(LedgerError::InvalidLocation {
                location: location.to_string(),
                detail: "empty path".into(),
            });
        }
        Ok(Ledger::Sqlite(SqliteLedger::open(path).await?))
    }

    /// The file path, or the PostgreSQL URL without its password.
    pub fn location(&self) -> &str {
        match self {
            Ledger::Sqlite(s) => s.location(),
            Ledger::Postgres(p) => p.location(),
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Ledger::Sqlite(_) => "sqlite",
            Ledger::Postgres(_) => "postgres",
        }
    }

    /// Counters of this process's writer for this ledger (commits, events,
    /// time in commits): the group-commit batch size is `events / commits`.
    pub fn writer_stats(&self) -> WriterStats {
        match self {
            Ledger::Sqlite(s) => s.writer().counters.snapshot(),
            Ledger::Postgres(p) => p.writer().counters.snapshot(),
        }
    }

    /// Closes this handle. For the last handle of a SQLite ledger, waits until
    /// queued appends are committed and the file is closed.
    pub async fn close(self) -> Result<()> {
        match self {
            Ledger::Sqlite(s) => s.close().await,
            Ledger::Postgres(_) => Ok(()),
        }
    }

    /// Appends one event and returns it once it is durable. With an
    /// idempotency key that is already stored, returns the stored event and
    /// writes nothing.
    pub async fn append(&self, event: NewEvent) -> Result<Event> {
        let mut events = self.append_batch(vec![event]).await?;
        events.pop().ok_or_else(|| LedgerError::WriterStopped {
            location: self.location().to_string(),
        })
    }

    /// Appends events in one transaction: all are recorded or none.
    pub async fn append_batch(&self, events: Vec<NewEvent>) -> Result<Vec<Event>> {
        match self {
            Ledger::Sqlite(s) => s.writer().submit(events).await,
            Ledger::Postgres(p) => p.writer().submit(events).await,
        }
    }

    /// Stored events matching `filter`, in seq order.
    pub async fn events(&self, filter: EventFilter) -> Result<Vec<Event>> {
        match self {
            Ledger::Sqlite(s) => s.events(filter).await,
            Ledger::Postgres(p) => p.events(filter).await,
        }
    }

    /// Every rollout with stored events, by name.
    pub async fn rollouts(&self) -> Result<Vec<RolloutSummary>> {
        match self {
            Ledger::Sqlite(s) => s.rollouts().await,
            Ledger::Postgres(p) => p.rollouts().await,
        }
    }

    /// The latest stored event of `rollout`.
    pub async fn last_event(&self, rollout: &str) -> Result<Option<Event>> {
        match self {
            Ledger::Sqlite(s) => s.last_event(rollout).await,
            Ledger::Postgres(p) => p.last_event(rollout).await,
        }
    }

    /// Recomputes the whole chain from the retention anchor on.
    pub async fn verify(&self) -> Result<VerifyReport> {
        match self {
            Ledger::Sqlite(s) => s.verify().await,
            Ledger::Postgres(p) => p.verify().await,
        }
    }

    /// Removes the oldest events: every event before the first one with
    /// `time_ms >= time_ms` (a prefix in seq order, so the rest still chains
    /// from the anchor). The removed range is verified first; a broken chain
    /// is refused rather than pruned out of sight.
    pub async fn prune_before(&self, time_ms: i64) -> Result<PruneReport> {
        match self {
            Ledger::Sqlite(s) => s.prune_before(time_ms).await,
            Ledger::Postgres(p) => p.prune_before(time_ms).await,
        }
    }

    /// Writes every stored event as one JSON object per line (seq order) and
    /// returns how many were written.
    pub async fn export_jsonl<W: Write>(&self, out: &mut W) -> Result<u64> {
        let export_err = |source: std::io::Error| LedgerError::Export {
            source: std::sync::Arc::new(source),
        };
        let mut after_seq = None;
        let mut written = 0;
        loop {
            let page = self
                .events(EventFilter {
                    rollout: None,
                    after_seq,
                    limit: Some(EXPORT_PAGE),
                })
                .await?;
            for event in &page {
                serde_json::to_writer(&mut *out, event)
                    .map_err(|e| export_err(std::io::Error::other(e)))?;
                out.write_all(b"\n").map_err(export_err)?;
                written += 1;
            }
            match page.last() {
                Some(last) if page.len() == EXPORT_PAGE => after_seq = Some(last.seq),
                _ => break,
            }
        }
        out.flush().map_err(export_err)?;
        Ok(written)
    }
}
