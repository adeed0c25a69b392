//! The agent's view of a mandate's lease.
//!
//! Clock assumption: a lease is a *duration*, started on the agent's own
//! monotonic clock at the moment the agent **sent** the heartbeat whose reply
//! granted or renewed it. The controller starts its own count no earlier
//! than it received that request, so the agent's lease always ends first
//! (given clock *rates* agree to well under the lease length; wall clocks may
//! be skewed by minutes or hours and nothing changes: no wall-clock time is
//! ever compared across machines).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rollguard_controller::protocol::Mandate;

#[derive(Debug, Default)]
pub struct Lease {
    until: Mutex<Option<Instant>>,
}

impl Lease {
    /// A lease valid for `len` from `sent`.
    pub fn new(sent: Instant, len: Duration) -> Self {
        Lease {
            until: Mutex::new(Some(sent + len)),
        }
    }

    /// The lease `m` grants, counted from `sent`, the moment the agent sent
    /// the heartbeat the mandate answers. `m.lease_expires_at_ms` (the
    /// controller's wall clock) is deliberately not used.
    pub fn from_mandate(m: &Mandate, sent: Instant) -> Self {
        Lease::new(sent, Duration::from_millis(m.lease_ms))
    }

    /// Extends the lease to `sent + len` (never shortens it: replies may
    /// arrive out of order).
    pub fn renew(&self, sent: Instant, len: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let new = sent + len;
        if until.is_none_or(|u| new > u) {
            *until = Some(new);
        }
    }

    /// Valid at `now`.
    pub fn valid_at(&self, now: Instant) -> bool {
        self.until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|u| now < u)
    }

    /// Time left at `now` (zero once expired).
    pub fn remaining(&self, now: Instant) -> Duration {
        self.until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|u| u.saturating_duration_since(now))
            .unwrap_or_default()
    }
}

/// How far the controller's wall clock is ahead of this agent's (negative:
/// behind), estimated from a mandate received at `agent_now_ms`; within a
/// round trip. For logs only.
pub fn controller_clock_offset_ms(m: &Mandate, agent_now_ms: i64) -> i64 {
    m.lease_expires_at_ms - m.lease_ms as i64 - agent_now_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mandate(lease_expires_at_ms: i64) -> Mandate {
        Mandate {
            rollout: "r".into(),
            service: "s".into(),
            spec_yaml: String::new(),
            spec_hash: String::new(),
            lease_ms: 3_000,
            lease_expires_at_ms,
            policy_bundle: None,
        }
    }

    #[test]
    fn controller_clock_skew_of_minutes_does_not_change_the_lease() {
        let agent_now_ms = 1_800_000_000_000;
        let sent = Instant::now();
        for skew_ms in [-600_000i64, 0, 600_000, 86_400_000] {
            let m = mandate(agent_now_ms + skew_ms + 3_000);
            assert_eq!(controller_clock_offset_ms(&m, agent_now_ms), skew_ms);
            let lease = Lease::from_mandate(&m, sent);
            assert!(
                lease.valid_at(sent + Duration::from_millis(2_999)),
                "skew {skew_ms}"
            );
            assert!(
                !lease.valid_at(sent + Duration::from_millis(3_000)),
                "skew {skew_ms}"
            );
        }
    }

    #[test]
    fn expires_and_renews_without_shortening() {
        let t0 = Instant::now();
        let lease = Lease::new(t0, Duration::from_secs(10));
        assert!(lease.valid_at(t0 + Duration::from_secs(9)));
        assert!(!lease.valid_at(t0 + Duration::from_secs(10)));
        lease.renew(t0 + Duration::from_secs(5), Duration::from_secs(10));
        assert!(lease.valid_at(t0 + Duration::from_secs(14)));
        // A late reply to an older heartbeat does not shorten it.
        lease.renew(t0, Duration::from_secs(10));
        assert!(lease.valid_at(t0 + Duration::from_secs(14)));
        assert_eq!(
            lease.remaining(t0 + Duration::from_secs(20)),
            Duration::ZERO
        );
    }
}
