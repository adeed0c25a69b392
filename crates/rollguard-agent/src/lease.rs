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

#[cfg(test)]
mod tests {
    use super::*;

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
