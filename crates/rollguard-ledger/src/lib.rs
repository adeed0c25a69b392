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
//!
//! ```
//! use rollguard_ledger::{EventFilter, Ledger, NewEvent};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("ledger.db");
//! let ledger = Ledger::open(path.to_str().ok_or("non-UTF-8 path")?).await?;
//! let step = NewEvent {
//!     time_ms: 1_700_000_000_000,
//!     rollout: "checkout".into(),
//!     kind: "weight_set".into(),
//!     actor: "controller".into(),
//!     idempotency_key: Some("checkout/step-1/weight".into()),
//!     inputs: json!({"canary": {"requests": 1200, "errors": 1}}),
//!     statistics: json!({"errors": {"e_value": 0.4}}),
//!     policy: Some(json!({"bundle": "sha256:…", "result": "allow"})),
//!     rationale: "step 1: canary healthy, weight 10% -> 25%".into(),
//! };
//! let first = ledger.append(step.clone()).await?; // durable on return
//! let retried = ledger.append(step).await?; // same key: recorded once
//! assert_eq!(first, retried);
//! assert_eq!(ledger.events(EventFilter::default()).await?.len(), 1);
//! assert!(ledger.verify().await?.ok);
//! # Ok(())
//! # }
//! ```

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

#[cfg(feature = "test-util")]
pub mod testing;

pub use bench::{BenchReport, bench};
pub use error::{LedgerError, Result};
pub use event::{Event, GENESIS_HASH, NewEvent, chain_hash};
pub use group_commit::WriterStats;
pub use ledger::{EventFilter, Ledger, PruneReport, RolloutSummary};
pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;
pub use verify::VerifyReport;
