//! The pure core of rollguard: the rollout spec, observations, the engine that
//! turns them into decisions, and the effects a runtime performs.
//!
//! No I/O, no clock, no randomness: `Engine::step(state, input, now)` is a
//! function, so the live loop, the simulator and replay run the same code.

pub mod duration;
pub mod spec;

pub use duration::{Millis, format_millis, parse_duration};
pub use spec::{Rollout, SpecError};
pub mod engine;
pub mod judge;
pub mod observation;
pub mod ports;

pub use engine::{
    AllowAll, Command, CommandKind, Effect, Engine, EventKind, Gate, GateDecision, Input, Outcome,
    Proposal, Record, RolloutState, Status,
};
pub use judge::{Decision, Judge, JudgeFactory, JudgeInput, Verdict};
pub use observation::{MetricData, Observation, VersionWindow};
