//! The rollguard decision ledger: an append-only, hash-chained record of
//! every decision with its inputs (aggregated telemetry, never raw requests),
//! statistics, policy result and rationale.
//!
//! - [`event`]: [`NewEvent`] / [`Event`] and the stable canonical encoding
//!   that is hashed; [`canonical`]: canonical JSON.
//! - [`Ledger`]: one type over a SQLite file (default, WAL, fsync on commit)
//!   or PostgreSQL (`postgres://` URL). Appends are group-committed by a
//!   single writer and acknowledged only once durable; an idempotency key
//!   makes a retried action record once.
//! - [`VerifyReport`]: streaming verification naming the first bad seq.
//! - [`bench`]: the `rollguard bench ledger` benchmark.

pub mod bench;
pub mod canonical;
pub mod error;
pub mod event;
mod group_commit;
pub mod ledger;
pub mod postgres;
pub mod schema;
pub mod sqlite;
pub mod verify;

pub use bench::{BenchReport, bench};
pub use error::{LedgerError, Result};
pub use event::{Event, GENESIS_HASH, NewEvent, chain_hash};
pub use group_commit::WriterStats;
pub use ledger::{EventFilter, Ledger, PruneReport, RolloutSummary};
pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;
pub use verify::VerifyReport;
