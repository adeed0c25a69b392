//! Statistics for rollguard: anytime-valid sequential tests that judge a canary
//! against its baseline, the reference judges of other tools (used by the
//! benchmark only), and the shared data shapes they read.
//!
//! This crate is pure: no I/O, no clock, no randomness. Time is always passed in.

pub mod counts;
pub mod histogram;

pub use counts::Counts;
pub use histogram::LatencyHistogram;
