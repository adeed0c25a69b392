//! Port traits: what the runtime shell plugs into the loop. The core defines
//! them and never calls them; adapters live in the telemetry, proxy and
//! actuator crates. Futures are boxed so the traits stay object-safe without
//! an async runtime in the core.

use std::future::Future;
use std::pin::Pin;

use crate::Millis;
use crate::observation::Observation;
use crate::spec::Rollout;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A router error, with whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{router}: {message}")]
pub struct RouterError {
    pub router: String,
    pub message: String,
    pub retryable: bool,
}

/// Moves traffic between baseline and canary.
pub trait TrafficRouter: Send + Sync {
    /// Sets the canary's share (percent). Idempotent: setting the same weight
    /// twice has the effect of setting it once.
    fn set_weight(&self, weight: f64) -> BoxFuture<'_, Result<(), RouterError>>;
    /// The weight actually in force, read back from the data plane.
    fn observed_weight(&self) -> BoxFuture<'_, Result<f64, RouterError>>;
    /// e.g. `builtin proxy on 127.0.0.1:8080`, `haproxy backend web`.
    fn describe(&self) -> String;
}

/// What a telemetry source sensed for one window.
#[derive(Debug, Clone)]
pub struct Sensed {
    pub observation: Observation,
    /// Last upstream/source errors worth showing a person (e.g. "canary
    /// http://127.0.0.1:9002: connection refused").
    pub notes: Vec<String>,
}

/// Produces one observation per window `[start, end)`.
pub trait MetricSource: Send {
    fn sense<'a>(
        &'a mut self,
        rollout: &'a Rollout,
        start: Millis,
        end: Millis,
    ) -> BoxFuture<'a, Sensed>;
    fn describe(&self) -> String;
}

/// Where hooks and notifications go is the actuators' business; the loop only
/// needs to know a notification was handed over (never blocking on it).
pub trait Notifier: Send + Sync {
    fn notify(&self, rollout: &str, kind: &str, message: &str);
}
