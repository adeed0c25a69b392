//! A small traffic simulator for the tests: per-window request and bad-event
//! counts for baseline and canary, Bernoulli requests, optional shared
//! overdispersion and bursts.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Binomial, Distribution, Gamma};
use rollguard_stats::Counts;

pub type Rng = Xoshiro256PlusPlus;

pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// How the bad rate moves from window to window (the same for both versions).
#[derive(Debug, Clone, Copy)]
pub enum Noise {
    /// Constant rate.
    None,
    /// Rate × Gamma(shape, 1/shape) per window (mean 1), plus bursts: with
    /// probability `burst_start` a burst of `burst_len` windows at
    /// `burst_factor` × the rate begins.
    Bursty {
        shape: f64,
        burst_start: f64,
        burst_len: u32,
        burst_factor: f64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct Traffic {
    /// Requests per window (both versions together).
    pub requests: u64,
    pub baseline_rate: f64,
    /// Canary rate / baseline rate.
    pub ratio: f64,
    pub noise: Noise,
}

pub struct Stream {
    traffic: Traffic,
    gamma: Option<Gamma<f64>>,
    burst_left: u32,
}

impl Stream {
    pub fn new(traffic: Traffic) -> Self {
        let gamma = match traffic.noise {
            Noise::None => None,
            Noise::Bursty { shape, .. } => Gamma::new(shape, 1.0 / shape).ok(),
        };
        Self {
            traffic,
            gamma,
            burst_left: 0,
        }
    }

    /// One window with canary share `split`: `(baseline, canary)`.
    pub fn window(&mut self, rng: &mut Rng, split: f64) -> (Counts, Counts) {
        let t = self.traffic;
        let mut mult = 1.0;
        if let (
            Some(g),
            Noise::Bursty {
                burst_start,
                burst_len,
                burst_factor,
                ..
            },
        ) = (&self.gamma, t.noise)
        {
            mult = g.sample(rng);
            if self.burst_left == 0 && rand::RngExt::random::<f64>(rng) < burst_start {
                self.burst_left = burst_len;
            }
            if self.burst_left > 0 {
                self.burst_left -= 1;
                mult *= burst_factor;
            }
        }
        let n_c = Binomial::new(t.requests, split).map_or(0, |b| b.sample(rng));
        let n_b = t.requests - n_c;
        let p_b = (t.baseline_rate * mult).min(1.0);
        let p_c = (t.baseline_rate * t.ratio * mult).min(1.0);
        let k_b = Binomial::new(n_b, p_b).map_or(0, |b| b.sample(rng));
        let k_c = Binomial::new(n_c, p_c).map_or(0, |b| b.sample(rng));
        (Counts::new(n_b, k_b), Counts::new(n_c, k_c))
    }
}

/// Runs `runs` independent jobs on two threads, each with its own seed
/// (`seed + run`), so the result does not depend on scheduling.
pub fn parallel_runs<T: Send>(runs: u64, seed: u64, job: impl Fn(&mut Rng) -> T + Sync) -> Vec<T> {
    let half = runs / 2;
    let job = &job;
    std::thread::scope(|scope| {
        let first = scope.spawn(move || {
            (0..half)
                .map(|i| job(&mut rng(seed + i)))
                .collect::<Vec<T>>()
        });
        let mut second: Vec<T> = (half..runs).map(|i| job(&mut rng(seed + i))).collect();
        let mut out = first.join().unwrap_or_default();
        out.append(&mut second);
        out
    })
}
