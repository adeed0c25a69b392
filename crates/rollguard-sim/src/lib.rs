//! rollguard's simulator, trace replay and detection benchmark.
//!
//! Everything here drives the REAL engine of `rollguard-core` (the same
//! `Engine::step` the live loop runs) on a virtual clock:
//! - [`simulate`]: synthetic traffic from a [`Scenario`], many seeded runs in parallel;
//! - [`replay`]: a recorded trace (CSV), thinned by the weight the engine sets;
//! - [`bench_detection`]: scenarios × judges, rollguard against the reference
//!   judges of Argo Rollouts, Flagger, Kayenta and the Wald oracle.
//!
//! Each result has a `Serialize` form for machines and `render_text` /
//! `render_markdown` for people. No wall clock is read anywhere.

pub mod bench;
pub mod reference;
pub mod replay;
pub mod scenario;
pub mod simulator;
pub mod summary;
pub mod traffic;

pub use bench::{DetectionTable, bench_detection};
pub use reference::JudgeChoice;
pub use replay::{ReplayError, ReplayReport, TimelineRow, replay, replay_text};
pub use scenario::{Scenario, ScenarioError};
pub use simulator::{RunOutcome, RunResult, SimReport, SimSummary, simulate};
pub use summary::{Rate, Spread, clopper_pearson};
