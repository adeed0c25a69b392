//! The runtime shell around rollguard's pure engine: the live loop that senses
//! telemetry every tick, steps the engine, writes the ledger, then acts on the
//! router (write-ahead: a decision is committed before it is applied and
//! reported), and resumes a rollout from the ledger after a crash.

mod error;
mod live;
mod policy_gate;
mod records;
pub mod resume;
mod summary;
pub mod wiring;

pub use error::RunError;
pub use live::{LiveRollout, Progress, RunOptions, Snapshot, StatusView, StopSignal, now_ms};
pub use policy_gate::{
    ApprovalBook, EnvironmentFacts, EnvironmentProvider, PolicyGate, environment_at,
    fixed_environment, policy_rollout, policy_verdicts,
};
pub use records::{event_from_record, started_event};
pub use resume::{Resumed, rebuild_state};
pub use summary::RunSummary;
