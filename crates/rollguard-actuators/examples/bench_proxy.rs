//! Runs the data-plane benchmark and prints the markdown table:
//! `cargo run -p rollguard-actuators --example bench_proxy -- [seconds]`.

#[tokio::main]
async fn main() {
    let secs = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let opts = rollguard_actuators::bench::BenchOptions {
        duration: std::time::Duration::from_secs(secs),
        ..Default::default()
    };
    match rollguard_actuators::bench::bench_proxy(&opts).await {
        Ok(report) => println!("{}", report.to_markdown()),
        Err(e) => {
            eprintln!("bench proxy: {e}");
            std::process::exit(1);
        }
    }
}
