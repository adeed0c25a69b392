//! Per-version event counts over one observation window.

use serde::{Deserialize, Serialize};

/// Requests seen by one version in a window, and how many of them were "bad"
/// (an error, a slow request, or any other counted event).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub bad: u64,
}

impl Counts {
    pub fn new(total: u64, bad: u64) -> Self {
        Self { total, bad }
    }

    /// The fraction of bad events, or `None` when there were no requests.
    pub fn rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.bad as f64 / self.total as f64)
    }

    /// Adds another window's counts (saturating: never panics on overflow).
    pub fn add(&mut self, other: Counts) {
        self.total = self.total.saturating_add(other.total);
        self.bad = self.bad.saturating_add(other.bad);
    }
}
