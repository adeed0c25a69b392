//! SQLite store: one file, WAL mode, `synchronous = FULL`.
//!
//! Appends go to a dedicated writer thread ([`writer`]) that group-commits
//! them; reads share a second connection on the blocking pool; verification
//! and pruning open a connection each. WAL lets reads run while the writer commits. Several
//! processes may open the same file: the writer reads the chain head inside
//! each `BEGIN IMMEDIATE` transaction, so their events still form one chain.

mod open;
mod rows;
mod writer;

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::mpsc;

use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::group_commit::{QUEUE_DEPTH, WriterCounters, WriterHandle};
use crate::ledger::{EventFilter, PruneReport, RolloutSummary};
use crate::schema::EVENT_COLUMNS;
use crate::verify::{ChainVerifier, VerifyReport};
use rows::{read_chain, row_to_event, to_i64};

/// A ledger in a SQLite file. Clones share the writer thread and reader.
#[derive(Clone)]
pub struct SqliteLedger {
    writer: WriterHandle,
    reader: Arc<Mutex<Connection>>,
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl SqliteLedger {
    /// Opens or creates the ledger file at `path` (see [`crate::Ledger::open`]).
    pub async fn open(path: &str) -> Result<Self> {
        let owned = path.to_string();
        let (write_conn, read_conn) = tokio::task::spawn_blocking(move || {
            let write_conn = open::open_ledger(&owned)?;
            let read_conn = open::connect(&owned)?;
            Ok::<_, LedgerError>((write_conn, read_conn))
        })
        .await
        .map_err(|e| join_error(path, e))??;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let location = path.to_string();
        let counters = Arc::new(WriterCounters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer::run(location, write_conn, rx, thread_counters))
            .map_err(|e| LedgerError::io(path, "starting the writer thread", e))?;
        Ok(Self {
            writer: WriterHandle {
                location: Arc::from(path),
                tx,
                counters,
            },
            reader: Arc::new(Mutex::new(read_conn)),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Drops this handle; if it is the last one, waits until the writer has
    /// committed everything queued and both connections are closed.
    pub async fn close(self) -> Result<()> {
        let Self {
            writer,
            reader,
            thread,
        } = self;
        let location = writer.location.to_string();
        drop(writer);
        drop(reader);
        let Ok(thread) = Arc::try_unwrap(thread) else {
            return Ok(());
        };
        let handle = thread.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(handle) = handle {
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| join_error(&location, e))?
                .map_err(|_| {
                    LedgerError::io(
                        &location,
                        "stopping the writer thread",
                        std::io::Error::other("the writer thread panicked"),
                    )
                })?;
        }
        Ok(())
    }

    /// The file path.
    pub fn location(&self) -> &str {
        &self.writer.location
    }

    pub(crate) fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    /// Runs `f` on the read connection on the blocking pool.
    async fn with_reader<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&str, &mut Connection) -> Result<T> + Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        let location = Arc::clone(&self.writer.location);
        tokio::task::spawn_blocking(move || {
            let mut conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&location, &mut conn)
        })
        .await
        .map_err(|e| join_error(&self.writer.location, e))?
    }

    pub(crate) async fn events(&self, filter: EventFilter) -> Result<Vec<Event>> {
        self.with_reader(move |location, conn| {
            let sql = |op| move |e| LedgerError::sqlite(location, op, e);
            let after = match filter.after_seq {
                Some(s) => to_i64(location, s)?,
                None => i64::MIN,
            };
            let limit = filter
                .limit
                .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
            let rollout_clause = if filter.rollout.is_some() {
                "AND rollout = ?3"
            } else {
                "AND ?3 IS NULL"
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM ledger_events WHERE seq > ?1 {rollout_clause} \
                     ORDER BY seq LIMIT ?2"
                ))
                .map_err(sql("preparing the event query"))?;
            let mut rows = stmt
                .query(params![after, limit, filter.rollout])
                .map_err(sql("querying events"))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(sql("reading events"))? {
                out.push(row_to_event(location, row)?);
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn last_event(&self, rollout: &str) -> Result<Option<Event>> {
        let rollout = rollout.to_string();
        self.with_reader(move |location, conn| {
            let sql = |op| move |e| LedgerError::sqlite(location, op, e);
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM ledger_events WHERE rollout = ?1 \
                     ORDER BY seq DESC LIMIT 1"
                ))
                .map_err(sql("preparing the last-event query"))?;
            stmt.query_row([&rollout], |row| Ok(row_to_event(location, row)))
                .optional()
                .map_err(sql("querying the last event"))?
                .transpose()
        })
        .await
    }

    pub(crate) async fn rollouts(&self) -> Result<Vec<RolloutSummary>> {
        self.with_reader(|location, conn| {
            let sql = |op| move |e| LedgerError::sqlite(location, op, e);
            let mut stmt = conn
                .prepare_cached(crate::schema::ROLLOUTS_SQL)
                .map_err(sql("preparing the rollout summary"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(RolloutSummary {
                        name: r.get(0)?,
                        first_ms: r.get(1)?,
                        last_ms: r.get(2)?,
                        events: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        last_kind: r.get(4)?,
                    })
                })
                .map_err(sql("summarising rollouts"))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("reading the rollout summary"))
        })
        .await
    }

    /// Runs `f` on a connection of its own (verify, prune), so long scans do
    /// not hold up the shared reader.
    async fn with_own_connection<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&str, &mut Connection) -> Result<T> + Send + 'static,
    {
        let location = Arc::clone(&self.writer.location);
        tokio::task::spawn_blocking(move || {
            let mut conn = open::connect(&location)?;
            f(&location, &mut conn)
        })
        .await
        .map_err(|e| join_error(&self.writer.location, e))?
    }

    pub(crate) async fn verify(&self) -> Result<VerifyReport> {
        self.with_own_connection(|location, conn| {
            let tx = conn
                .transaction()
                .map_err(|e| LedgerError::sqlite(location, "starting a read transaction", e))?;
            verify_in(location, &tx)
        })
        .await
    }

    pub(crate) async fn prune_before(&self, time_ms: i64) -> Result<PruneReport> {
        self.with_own_connection(move |location, conn| {
            let sql = |op| move |e| LedgerError::sqlite(location, op, e);
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql("starting the prune transaction"))?;
            let report = verify_in(location, &tx)?;
            if let (Some(seq), Some(reason)) = (report.first_bad_seq, report.reason) {
                return Err(LedgerError::ChainBroken {
                    location: location.to_string(),
                    seq,
                    reason,
                });
            }
            let chain = read_chain(location, &tx)?;
            let cut: Option<i64> = tx
                .query_row(
                    "SELECT MIN(seq) FROM ledger_events WHERE time_ms >= ?1",
                    [time_ms],
                    |r| r.get(0),
                )
                .map_err(sql("finding the retention cut"))?;
            // Every event below `cut` goes; without a newer event, all go.
            let last_pruned = match cut {
                Some(c) => u64::try_from(c).unwrap_or(0).saturating_sub(1),
                None => chain.head_seq,
            };
            if last_pruned <= chain.anchor_seq {
                return Ok(PruneReport {
                    pruned: 0,
                    pruned_total: chain.pruned,
                    anchor_seq: chain.anchor_seq,
                    anchor_hash: chain.anchor_hash,
                });
            }
            let last = to_i64(location, last_pruned)?;
            let anchor_hash: String = tx
                .query_row("SELECT hash FROM ledger_events WHERE seq = ?1", [last], |r| {
                    r.get(0)
                })
                .map_err(sql("reading the new anchor hash"))?;
            let pruned = tx
                .execute("DELETE FROM ledger_events WHERE seq <= ?1", [last])
                .map_err(sql("deleting pruned events"))? as u64;
            let pruned_total = chain.pruned + pruned;
            tx.execute(
                "UPDATE ledger_chain SET anchor_seq = ?1, anchor_hash = ?2, pruned = ?3 WHERE id = 1",
                params![last, anchor_hash, to_i64(location, pruned_total)?],
            )
            .map_err(sql("moving the retention anchor"))?;
            tx.commit().map_err(sql("committing the prune"))?;
            Ok(PruneReport {
                pruned,
                pruned_total,
                anchor_seq: last_pruned,
                anchor_hash,
            })
        })
        .await
    }
}

/// Verifies the chain as seen by `conn`'s current transaction.
fn verify_in(location: &str, conn: &Connection) -> Result<VerifyReport> {
    let sql = |op| move |e| LedgerError::sqlite(location, op, e);
    let chain = read_chain(location, conn)?;
    let mut verifier = ChainVerifier::new(chain);
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM ledger_events ORDER BY seq"
        ))
        .map_err(sql("preparing verification"))?;
    let mut rows = stmt.query([]).map_err(sql("reading events to verify"))?;
    while let Some(row) = rows.next().map_err(sql("reading events to verify"))? {
        if !check_row(&mut verifier, row) {
            break;
        }
    }
    Ok(verifier.finish())
}

/// Feeds one row to the verifier without allocating for its text.
fn check_row(verifier: &mut ChainVerifier, row: &rusqlite::Row<'_>) -> bool {
    use rusqlite::types::ValueRef;
    let seq = match row.get_ref(0) {
        Ok(ValueRef::Integer(s)) if s >= 0 => s as u64,
        _ => {
            verifier.fail(0, "an event has a missing or negative seq".into());
            return false;
        }
    };
    let text = |i: usize| match row.get_ref(i) {
        Ok(ValueRef::Text(t)) => std::str::from_utf8(t).ok().map(Some),
        Ok(ValueRef::Null) => Some(None),
        _ => None,
    };
    let fields: Option<Vec<Option<&str>>> = (2..12).map(text).collect();
    let time_ms = match row.get_ref(1) {
        Ok(ValueRef::Integer(t)) => t,
        _ => {
            verifier.fail(seq, format!("event seq {seq}: time_ms is not an integer"));
            return false;
        }
    };
    verifier.check_row(seq, time_ms, fields)
}

fn join_error(location: &str, e: tokio::task::JoinError) -> LedgerError {
    LedgerError::io(
        location,
        "running a blocking ledger task",
        std::io::Error::other(e),
    )
}
