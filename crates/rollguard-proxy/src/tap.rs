//! The per-version telemetry tap: request counts by status class, upstream
//! errors by kind and a latency histogram, kept both as a window (reset on
//! each `take_window`) and as totals since start.
//!
//! Each version (and the shadow stream) has one mutex around its counters;
//! a record holds it for a few dozen nanoseconds, so contention stays low
//! even with many concurrent requests. No request data is kept, only
//! aggregates and the text of the last error.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rollguard_stats::LatencyHistogram;
use serde::{Deserialize, Serialize};

/// Aggregates for one version over some interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionTap {
    /// Every request routed to this version that has finished (answered or failed).
    pub requests: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// The upstream could not be reached (refused, unresolvable, connect timeout).
    pub connect_errors: u64,
    /// No response headers within the request timeout.
    pub timeouts: u64,
    /// The upstream was reached but the exchange failed (reset, malformed response).
    pub protocol_errors: u64,
    /// Time to the upstream's response headers, for answered requests only.
    pub latency: LatencyHistogram,
    /// The most recent upstream error in this interval, e.g.
    /// `canary http://127.0.0.1:9002: connection refused`.
    pub last_error: Option<String>,
}

impl VersionTap {
    /// Requests that count against the version: 5xx answers and every
    /// upstream failure (connect, timeout, protocol).
    pub fn errors(&self) -> u64 {
        self.status_5xx + self.connect_errors + self.timeouts + self.protocol_errors
    }

    /// Requests answered by the upstream (any status).
    pub fn answered(&self) -> u64 {
        self.status_2xx + self.status_3xx + self.status_4xx + self.status_5xx
    }

    pub fn merge(&mut self, other: &VersionTap) {
        self.requests += other.requests;
        self.status_2xx += other.status_2xx;
        self.status_3xx += other.status_3xx;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.connect_errors += other.connect_errors;
        self.timeouts += other.timeouts;
        self.protocol_errors += other.protocol_errors;
        self.latency.merge(&other.latency);
        if other.last_error.is_some() {
            self.last_error.clone_from(&other.last_error);
        }
    }

    fn apply(&mut self, outcome: &Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::Answered { status, latency } => {
                match status / 100 {
                    2 => self.status_2xx += 1,
                    3 => self.status_3xx += 1,
                    4 => self.status_4xx += 1,
                    5 => self.status_5xx += 1,
                    // 1xx final answers do not occur; count them with 2xx's
                    // neighbours rather than dropping them.
                    _ => self.status_2xx += 1,
                }
                self.latency.record_micros(latency.as_micros() as u64);
            }
            Outcome::Failed { kind, message } => {
                match kind {
                    ErrorKind::Connect => self.connect_errors += 1,
                    ErrorKind::Timeout => self.timeouts += 1,
                    ErrorKind::Protocol => self.protocol_errors += 1,
                }
                self.last_error = Some(message.clone());
            }
        }
    }
}

/// One window (or the totals) for both versions and the shadow stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TapWindow {
    pub baseline: VersionTap,
    pub canary: VersionTap,
    /// Mirrored copies of baseline requests, sent to the canary.
    pub shadow: VersionTap,
}

/// Kinds of upstream failure, as the `kind` label of
/// `rollguard_proxy_upstream_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Connect,
    Timeout,
    Protocol,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    Answered { status: u16, latency: Duration },
    Failed { kind: ErrorKind, message: String },
}

/// Which stream a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Baseline,
    Canary,
    Shadow,
}

#[derive(Default)]
struct Slot {
    window: VersionTap,
    total: VersionTap,
    /// Sum of recorded latencies in seconds (for the Prometheus `_sum`).
    total_latency_seconds: f64,
}

/// The shared recorder behind a running proxy.
#[derive(Default)]
pub struct Tap {
    baseline: Mutex<Slot>,
    canary: Mutex<Slot>,
    shadow: Mutex<Slot>,
}

impl Tap {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, stream: Stream) -> MutexGuard<'_, Slot> {
        let m = match stream {
            Stream::Baseline => &self.baseline,
            Stream::Canary => &self.canary,
            Stream::Shadow => &self.shadow,
        };
        // A panic while holding the lock cannot leave counters half-updated
        // in a way that matters more than losing them: keep serving.
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn record(&self, stream: Stream, outcome: &Outcome) {
        let mut slot = self.slot(stream);
        slot.window.apply(outcome);
        slot.total.apply(outcome);
        if let Outcome::Answered { latency, .. } = outcome {
            slot.total_latency_seconds += latency.as_secs_f64();
        }
    }

    /// The delta since the previous call, and a fresh window.
    pub fn take_window(&self) -> TapWindow {
        TapWindow {
            baseline: std::mem::take(&mut self.slot(Stream::Baseline).window),
            canary: std::mem::take(&mut self.slot(Stream::Canary).window),
            shadow: std::mem::take(&mut self.slot(Stream::Shadow).window),
        }
    }

    pub fn totals(&self) -> TapWindow {
        TapWindow {
            baseline: self.slot(Stream::Baseline).total.clone(),
            canary: self.slot(Stream::Canary).total.clone(),
            shadow: self.slot(Stream::Shadow).total.clone(),
        }
    }

    /// Totals with the latency sum, for exposition.
    pub(crate) fn totals_with_sum(&self, stream: Stream) -> (VersionTap, f64) {
        let slot = self.slot(stream);
        (slot.total.clone(), slot.total_latency_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_deltas_and_totals_accumulate() {
        let tap = Tap::new();
        let ok = Outcome::Answered {
            status: 200,
            latency: Duration::from_millis(5),
        };
        tap.record(Stream::Baseline, &ok);
        tap.record(
            Stream::Canary,
            &Outcome::Failed {
                kind: ErrorKind::Connect,
                message: "canary http://x: connection refused".into(),
            },
        );
        let w = tap.take_window();
        assert_eq!(w.baseline.requests, 1);
        assert_eq!(w.baseline.status_2xx, 1);
        assert_eq!(w.baseline.latency.total(), 1);
        assert_eq!(w.canary.errors(), 1);
        assert_eq!(
            w.canary.last_error.as_deref(),
            Some("canary http://x: connection refused")
        );
        tap.record(
            Stream::Baseline,
            &Outcome::Answered {
                status: 503,
                latency: Duration::from_millis(1),
            },
        );
        let w2 = tap.take_window();
        assert_eq!(w2.baseline.requests, 1);
        assert_eq!(w2.baseline.status_5xx, 1);
        assert_eq!(w2.canary, VersionTap::default());
        let t = tap.totals();
        assert_eq!(t.baseline.requests, 2);
        assert_eq!(t.baseline.errors(), 1);
        assert_eq!(t.canary.connect_errors, 1);
        let mut merged = w.baseline.clone();
        merged.merge(&w2.baseline);
        assert_eq!(merged, t.baseline);
    }
}
