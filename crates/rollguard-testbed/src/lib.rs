//! Test bed for rollguard: demo upstream services whose error rate and
//! latency can be changed at runtime, and an open-loop load generator that
//! only sends to loopback addresses. Used by `rollguard demo` and by the
//! end-to-end tests of the proxy and the runtimes.

mod behavior;
mod error;
mod load;
mod service;

pub use behavior::{LatencyModel, ServiceBehavior};
pub use error::TestbedError;
pub use load::{LoadConfig, LoadGenerator, LoadHandle, LoadStats, is_loopback};
pub use service::DemoService;

pub mod process;
