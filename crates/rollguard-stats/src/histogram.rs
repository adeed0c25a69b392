//! A fixed-layout, mergeable latency histogram.
//!
//! Buckets are log-spaced, eight per octave (each about 9% wide), from 100 µs
//! to about 105 s, plus an overflow bucket. Every histogram has the same
//! layout, so histograms from the proxy tap, the simulator and Prometheus
//! merge by adding counts, and a threshold taken from one histogram (a bucket
//! boundary) counts exceedances exactly in another. Quantiles are reported as
//! the upper bound of the bucket that holds them, so they are exact to within
//! one bucket (≤ 9.1% relative error).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Buckets per doubling of latency.
pub const BUCKETS_PER_OCTAVE: u32 = 8;
/// Upper bound of bucket 0, in microseconds.
pub const BASE_MICROS: f64 = 100.0;
/// Number of finite buckets; one overflow bucket follows them.
pub const FINITE_BUCKETS: usize = 160;
const ALL_BUCKETS: usize = FINITE_BUCKETS + 1;

#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Box<[u64; ALL_BUCKETS]>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("total", &self.total)
            .field("p50_ms", &self.quantile_ms(0.5))
            .field("p99_ms", &self.quantile_ms(0.99))
            .finish()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        Self {
            counts: Box::new([0; ALL_BUCKETS]),
            total: 0,
        }
    }

    /// The bucket a latency (in microseconds) falls in.
    pub fn bucket_of_micros(micros: f64) -> usize {
        if micros.is_nan() || micros <= BASE_MICROS {
            // Also catches NaN: it is counted in the lowest bucket, never dropped.
            return 0;
        }
        let idx = (f64::from(BUCKETS_PER_OCTAVE) * (micros / BASE_MICROS).log2()).ceil();
        if idx >= FINITE_BUCKETS as f64 {
            FINITE_BUCKETS
        } else {
            idx as usize
        }
    }

    /// Upper bound of a bucket in milliseconds (`f64::INFINITY` for overflow).
    pub fn upper_bound_ms(bucket: usize) -> f64 {
        if bucket >= FINITE_BUCKETS {
            f64::INFINITY
        } else {
            BASE_MICROS * 2f64.powf(bucket as f64 / f64::from(BUCKETS_PER_OCTAVE)) / 1000.0
        }
    }

    /// The bucket whose upper bound is the smallest one at or above `ms`.
    pub fn bucket_at_or_above_ms(ms: f64) -> usize {
        Self::bucket_of_micros(ms * 1000.0)
    }

    pub fn record_ms(&mut self, ms: f64) {
        self.record_bucket(Self::bucket_of_micros(ms * 1000.0), 1);
    }

    pub fn record_micros(&mut self, micros: u64) {
        self.record_bucket(Self::bucket_of_micros(micros as f64), 1);
    }

    pub fn record_bucket(&mut self, bucket: usize, n: u64) {
        let b = bucket.min(FINITE_BUCKETS);
        self.counts[b] += n;
        self.total += n;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn bucket_count(&self, bucket: usize) -> u64 {
        self.counts.get(bucket).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.total += other.total;
    }

    /// Requests slower than the upper bound of `bucket`.
    pub fn count_above_bucket(&self, bucket: usize) -> u64 {
        if bucket >= FINITE_BUCKETS {
            return 0;
        }
        self.counts[bucket + 1..].iter().sum()
    }

    /// This window as counts of requests and of "bad" requests slower than
    /// the upper bound of `bucket`, the input of the count test for latency.
    pub fn exceedance(&self, bucket: usize) -> crate::Counts {
        crate::Counts::new(self.total, self.count_above_bucket(bucket))
    }

    /// The bucket holding quantile `q` (0 < q < 1), or `None` when empty.
    pub fn quantile_bucket(&self, q: f64) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(i);
            }
        }
        Some(FINITE_BUCKETS)
    }

    /// Quantile `q` in milliseconds (the upper bound of its bucket).
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantile_bucket(q).map(Self::upper_bound_ms)
    }

    /// Non-empty buckets as `(bucket, count)` pairs, in order.
    pub fn nonzero(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i, *c))
    }
}

/// Serialized sparsely as `[[bucket, count], ...]`: windows are mostly empty.
impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.nonzero())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(usize, u64)> = Vec::deserialize(d)?;
        let mut h = LatencyHistogram::new();
        for (b, c) in pairs {
            if b > FINITE_BUCKETS {
                return Err(serde::de::Error::custom(format!(
                    "histogram bucket {b} is out of range (0..={FINITE_BUCKETS})"
                )));
            }
            h.record_bucket(b, c);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_within_nine_percent() {
        for ms in [0.2, 1.0, 3.7, 12.0, 250.0, 999.0, 30_000.0] {
            let b = LatencyHistogram::bucket_at_or_above_ms(ms);
            let ub = LatencyHistogram::upper_bound_ms(b);
            assert!(ub >= ms * 0.999_999, "{ms} -> {ub}");
            assert!(ub <= ms * 1.091, "{ms} -> {ub}");
        }
    }

    #[test]
    fn quantiles_and_exceedances() {
        let mut h = LatencyHistogram::new();
        for i in 1..=1000 {
            h.record_ms(i as f64);
        }
        let p50 = h.quantile_ms(0.5).unwrap();
        assert!((500.0..=546.0).contains(&p50), "{p50}");
        let b = h.quantile_bucket(0.99).unwrap();
        let above = h.count_above_bucket(b);
        assert!(above <= 10, "{above}");
        assert_eq!(h.exceedance(b).bad, above);
        assert_eq!(h.exceedance(b).total, 1000);
        assert_eq!(h.total(), 1000);
    }

    #[test]
    fn nan_and_negative_are_counted_not_dropped() {
        let mut h = LatencyHistogram::new();
        h.record_ms(f64::NAN);
        h.record_ms(-3.0);
        h.record_ms(1e12);
        assert_eq!(h.total(), 3);
        assert_eq!(h.bucket_count(FINITE_BUCKETS), 1);
    }

    #[test]
    fn serde_round_trip_is_sparse() {
        let mut h = LatencyHistogram::new();
        h.record_ms(5.0);
        h.record_ms(5.0);
        h.record_ms(80.0);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json.matches('[').count(), 3);
        let back: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
        assert!(serde_json::from_str::<LatencyHistogram>("[[999,1]]").is_err());
    }
}
