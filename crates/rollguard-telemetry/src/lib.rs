//! Telemetry sources for rollguard beyond the builtin proxy's tap.
//!
//! - [`PrometheusSource`]: a [`rollguard_core::ports::MetricSource`] that reads
//!   each `prometheus` metric of a rollout as two PromQL instant queries per
//!   version (requests and bad events over the window), each with its own
//!   timeout. Anything that is not a clean, finite, non-negative single number
//!   (NaN, an empty vector, HTTP errors, timeouts, HTML, garbage) becomes
//!   [`rollguard_core::MetricData::NoData`] with a reason a person can read;
//!   it is never read as healthy.
//! - [`PromClient`]: the small PromQL HTTP client behind it.
//!
//! With the `test-util` feature, [`testing::PrometheusServer`] starts a real
//! Prometheus on a free loopback port for tests.

mod client;
mod error;
mod promql;
mod source;
#[cfg(feature = "test-util")]
pub mod testing;

pub use client::{PromClient, install_crypto_provider};
pub use error::PromError;
pub use promql::{Role, render_query, window_duration};
pub use source::PrometheusSource;
