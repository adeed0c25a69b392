//! PostgreSQL store, chosen by a `postgres://` URL.
//!
//! Same tables as SQLite (see [`crate::schema`]) in the connection's default
//! schema, created on first open under an advisory lock. Appends go through a
//! writer task with its own connection ([`writer`]); reads share a second
//! connection (both reconnect when the server has dropped them); verification and pruning each open a short-lived connection so
//! they can hold a consistent snapshot (`REPEATABLE READ`). Connections are
//! plain TCP or Unix socket: `sslmode=require` is refused (no TLS in this
//! build).

mod connect;
mod rows;
mod writer;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, IsolationLevel, Transaction};

use crate::error::{LedgerError, Result};
use crate::event::Event;
use crate::group_commit::{QUEUE_DEPTH, WriterCounters, WriterHandle};
use crate::ledger::{EventFilter, PruneReport, RolloutSummary};
use crate::schema::{self, EVENT_COLUMNS};
use crate::verify::{ChainVerifier, VerifyReport};
use connect::{connect, init_schema, redact};
use rows::{chain_from_row, check_row, row_to_event, to_i64};

/// Rows fetched per round trip while verifying.
const VERIFY_PAGE: i32 = 20_000;

/// A ledger in a PostgreSQL database. Clones share the writer and reader.
#[derive(Clone)]
pub struct PostgresLedger {
    writer: WriterHandle,
    reader: Arc<tokio::sync::Mutex<Arc<Client>>>,
    config: Arc<Config>,
}

impl PostgresLedger {
    /// Connects to `url`, creating the ledger tables if the database has none.
    pub async fn open(url: &str) -> Result<Self> {
        let location = redact(url);
        let config: Config = url.parse().map_err(|e| LedgerError::InvalidLocation {
            location: location.clone(),
            detail: format!("not a PostgreSQL URL: {e}"),
        })?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(LedgerError::InvalidLocation {
                location,
                detail: "sslmode=require is not supported (this build has no PostgreSQL TLS)"
                    .into(),
            });
        }
        let mut init = connect(&location, &config).await?;
        init_schema(&location, &mut init).await?;
        drop(init);
        let write_client = connect(&location, &config).await?;
        let reader = connect(&location, &config).await?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let counters = Arc::new(WriterCounters::default());
        tokio::spawn(writer::run(
            location.clone(),
            config.clone(),
            write_client,
            rx,
            Arc::clone(&counters),
        ));
        Ok(Self {
            writer: WriterHandle {
                location: Arc::from(location.as_str()),
                tx,
                counters,
            },
            reader: Arc::new(tokio::sync::Mutex::new(Arc::new(reader))),
            config: Arc::new(config),
        })
    }

    /// The URL without its password.
    pub fn location(&self) -> &str {
        &self.writer.location
    }

    pub(crate) fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    fn pg(&self, op: &'static str) -> impl Fn(tokio_postgres::Error) -> LedgerError + '_ {
        move |e| LedgerError::postgres(&self.writer.location, op, e)
    }

    /// The shared read connection, reconnected if the server dropped it.
    async fn reader(&self) -> Result<Arc<Client>> {
        let mut guard = self.reader.lock().await;
        if guard.is_closed() {
            *guard = Arc::new(connect(self.location(), &self.config).await?);
        }
        Ok(Arc::clone(&guard))
    }

    pub(crate) async fn events(&self, filter: EventFilter) -> Result<Vec<Event>> {
        let location = self.location();
        let after = match filter.after_seq {
            Some(s) => to_i64(location, s)?,
            None => i64::MIN,
        };
        let limit: Option<i64> = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = self
            .reader()
            .await?
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM ledger_events \
                     WHERE seq > $1 AND ($2::text IS NULL OR rollout = $2) \
                     ORDER BY seq LIMIT $3"
                ),
                &[&after, &filter.rollout, &limit],
            )
            .await
            .map_err(self.pg("querying events"))?;
        rows.iter().map(|r| row_to_event(location, r)).collect()
    }

    pub(crate) async fn last_event(&self, rollout: &str) -> Result<Option<Event>> {
        let row = self
            .reader()
            .await?
            .query_opt(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM ledger_events WHERE rollout = $1 \
                     ORDER BY seq DESC LIMIT 1"
                ),
                &[&rollout],
            )
            .await
            .map_err(self.pg("querying the last event"))?;
        row.map(|r| row_to_event(self.location(), &r)).transpose()
    }

    pub(crate) async fn rollouts(&self) -> Result<Vec<RolloutSummary>> {
        let rows = self
            .reader()
            .await?
            .query(schema::ROLLOUTS_SQL, &[])
            .await
            .map_err(self.pg("summarising rollouts"))?;
        rows.iter()
            .map(|r| {
                let n: i64 = r
                    .try_get(3)
                    .map_err(self.pg("reading the rollout summary"))?;
                Ok(RolloutSummary {
                    name: r
                        .try_get(0)
                        .map_err(self.pg("reading the rollout summary"))?,
                    first_ms: r
                        .try_get(1)
                        .map_err(self.pg("reading the rollout summary"))?,
                    last_ms: r
                        .try_get(2)
                        .map_err(self.pg("reading the rollout summary"))?,
                    events: u64::try_from(n).unwrap_or(0),
                    last_kind: r
                        .try_get(4)
                        .map_err(self.pg("reading the rollout summary"))?,
                })
            })
            .collect()
    }

    pub(crate) async fn verify(&self) -> Result<VerifyReport> {
        let mut client = connect(self.location(), &self.config).await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(self.pg("starting a read transaction"))?;
        let report = verify_in(self.location(), &tx, false).await?;
        tx.commit()
            .await
            .map_err(self.pg("ending the read transaction"))?;
        Ok(report)
    }

    pub(crate) async fn prune_before(&self, time_ms: i64) -> Result<PruneReport> {
        let location = self.location();
        let mut client = connect(location, &self.config).await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()
            .await
            .map_err(self.pg("starting the prune transaction"))?;
        let report = verify_in(location, &tx, true).await?;
        if let (Some(seq), Some(reason)) = (report.first_bad_seq, report.reason) {
            return Err(LedgerError::ChainBroken {
                location: location.to_string(),
                seq,
                reason,
            });
        }
        let cut: Option<i64> = tx
            .query_one(
                "SELECT MIN(seq) FROM ledger_events WHERE time_ms >= $1",
                &[&time_ms],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.pg("finding the retention cut"))?;
        let last_pruned = match cut {
            Some(c) => u64::try_from(c).unwrap_or(0).saturating_sub(1),
            None => report.head_seq,
        };
        if last_pruned <= report.anchor_seq {
            let anchor_hash: String = tx
                .query_one("SELECT anchor_hash FROM ledger_chain WHERE id = 1", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(self.pg("reading the anchor"))?;
            return Ok(PruneReport {
                pruned: 0,
                pruned_total: report.pruned,
                anchor_seq: report.anchor_seq,
                anchor_hash,
            });
        }
        let last = to_i64(location, last_pruned)?;
        let anchor_hash: String = tx
            .query_one("SELECT hash FROM ledger_events WHERE seq = $1", &[&last])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.pg("reading the new anchor hash"))?;
        let pruned = tx
            .execute("DELETE FROM ledger_events WHERE seq <= $1", &[&last])
            .await
            .map_err(self.pg("deleting pruned events"))?;
        let pruned_total = report.pruned + pruned;
        tx.execute(
            "UPDATE ledger_chain SET anchor_seq = $1, anchor_hash = $2, pruned = $3 WHERE id = 1",
            &[&last, &anchor_hash, &to_i64(location, pruned_total)?],
        )
        .await
        .map_err(self.pg("moving the retention anchor"))?;
        tx.commit().await.map_err(self.pg("committing the prune"))?;
        Ok(PruneReport {
            pruned,
            pruned_total,
            anchor_seq: last_pruned,
            anchor_hash,
        })
    }
}

/// Verifies the chain in `tx`'s snapshot; `lock` takes the chain row
/// `FOR UPDATE` first (pruning), which also holds off appends.
async fn verify_in(location: &str, tx: &Transaction<'_>, lock: bool) -> Result<VerifyReport> {
    let pg = |op| move |e| LedgerError::postgres(location, op, e);
    let lock_clause = if lock { " FOR UPDATE" } else { "" };
    let row = tx
        .query_one(
            &format!(
                "SELECT head_seq, head_hash, anchor_seq, anchor_hash, pruned \
                 FROM ledger_chain WHERE id = 1{lock_clause}"
            ),
            &[],
        )
        .await
        .map_err(pg("reading ledger_chain"))?;
    let mut verifier = ChainVerifier::new(chain_from_row(location, &row)?);
    let stmt = tx
        .prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM ledger_events ORDER BY seq"
        ))
        .await
        .map_err(pg("preparing verification"))?;
    let portal = tx
        .bind(&stmt, &[])
        .await
        .map_err(pg("opening the verification cursor"))?;
    'pages: loop {
        let rows = tx
            .query_portal(&portal, VERIFY_PAGE)
            .await
            .map_err(pg("reading events to verify"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if !check_row(&mut verifier, row) {
                break 'pages;
            }
        }
    }
    Ok(verifier.finish())
}
