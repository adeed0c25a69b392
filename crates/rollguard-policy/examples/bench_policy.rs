//! Measures policy evaluation latency with the default bundle.
//!
//! `cargo run --release -p rollguard-policy --example bench_policy [N] [--json]`
//! (the CLI exposes the same as `rollguard bench policy`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(20_000);
    let report = rollguard_policy::bench(n)?;
    if args.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}
