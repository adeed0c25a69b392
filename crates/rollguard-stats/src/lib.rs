//! Statistics for rollguard: anytime-valid sequential tests that judge a canary
//! against its baseline, the reference judges of other tools (used by the
//! benchmark only), and the shared data shapes they read.
//!
//! This crate is pure: no I/O, no clock, no randomness. Time is always passed in.

pub mod confidence;
pub mod count_test;
pub mod counts;
pub mod histogram;
pub mod ratio_grid;
pub mod reference;
pub mod wald;

pub use count_test::{CountSummary, CountTest, CountTestConfig, CountTestConfigError, Decision};
pub use counts::Counts;
pub use histogram::LatencyHistogram;
