//! Writes the checked-in trace `examples/traces/bad-canary.csv`: two minutes
//! of each version at full load (40 rps each, Poisson arrivals); the baseline
//! fails 0.5% of requests, the canary 10%; log-normal latency, median 100 ms
//! (canary 120 ms), sigma 0.5. Seeded, so the file is reproducible.
//!
//! `cargo run -p rollguard-sim --example gen_trace [-- PATH]`

use std::io::Write;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/traces/bad-canary.csv".into());
    let mut rng = StdRng::seed_from_u64(42);
    let gap = Exp::new(40.0 / 1000.0)?;
    let mut rows: Vec<(u64, &str, u16, f64)> = Vec::new();
    for (version, errors, median) in [("baseline", 0.005, 100.0f64), ("canary", 0.10, 120.0)] {
        let lat = LogNormal::new(median.ln(), 0.5)?;
        let mut t = 0.0;
        loop {
            t += gap.sample(&mut rng);
            if t >= 120_000.0 {
                break;
            }
            let status = if rng.random_bool(errors) { 503 } else { 200 };
            rows.push((t as u64, version, status, lat.sample(&mut rng)));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(out, "t_ms,version,status,latency_ms")?;
    for (t, v, s, l) in rows {
        writeln!(out, "{t},{v},{s},{l:.1}")?;
    }
    out.flush()?;
    eprintln!("wrote {path}");
    Ok(())
}
