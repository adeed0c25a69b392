//! Statistics for rollguard: anytime-valid sequential tests that judge a canary
//! against its baseline, the reference judges of other tools (used by the
//! benchmark only), and the shared data shapes they read.
//!
//! This crate is pure: no I/O, no clock, no randomness. Time is always passed in.
//!
//! - [`CountTest`] ([`count_test`]): the default judge of a count metric
//!   (errors, slow requests): a mixture e-process on the conditional share of
//!   bad events that fails with false-fail probability ≤ `alpha` however
//!   often it is looked at, a confidence sequence on the rate ratio, and a
//!   pass criterion from confidence sequences on both rates.
//! - [`confidence`]: the confidence sequences; [`ratio_grid`]: the grid of
//!   ratios and the fail prior; [`wald`]: Wald's sample-size bound.
//! - [`reference`]: Argo Rollouts, Flagger, Kayenta style judges and the Wald
//!   oracle, behind one [`reference::ReferenceJudge`] trait, for the benchmark.
//!
//! ```
//! use rollguard_stats::{CountTest, CountTestConfig, Counts, Decision};
//!
//! let mut test = CountTest::new(CountTestConfig::default()); // alpha 0.01
//! // One window: baseline 900 requests / 4 bad, canary 100 requests / 6 bad.
//! for _ in 0..10 {
//!     test.observe(Counts::new(900, 4), Counts::new(100, 6));
//! }
//! assert_eq!(test.decision(), Decision::Fail);
//! let (lo, hi) = test.ratio_interval();
//! assert!(lo > 1.0 && hi > lo);
//! ```

pub mod confidence;
pub mod count_config;
pub mod count_test;
pub mod counts;
pub mod histogram;
pub mod ratio_grid;
pub mod reference;
pub mod wald;

pub use count_test::{CountSummary, CountTest, CountTestConfig, CountTestConfigError, Decision};
pub use counts::Counts;
pub use histogram::LatencyHistogram;
