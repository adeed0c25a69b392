//! Prints the detection benchmark table.
//!
//! `cargo run --release -p rollguard-sim --example bench_detection [-- --quick] [--json] [--judges rollguard,argo]`

use std::process::ExitCode;

use rollguard_sim::JudgeChoice;
use rollguard_sim::bench::{BenchSize, bench_detection_with};

#[allow(clippy::disallowed_methods)] // wall time of the benchmark itself, for people
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    let judges: Vec<JudgeChoice> = match args.iter().position(|a| a == "--judges") {
        Some(i) => match args.get(i + 1).map(|list| {
            list.split(',')
                .map(str::parse)
                .collect::<Result<Vec<JudgeChoice>, String>>()
        }) {
            Some(Ok(j)) => j,
            Some(Err(e)) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            None => {
                eprintln!("--judges needs a comma-separated list");
                return ExitCode::from(2);
            }
        },
        None => JudgeChoice::ALL.to_vec(),
    };
    let started = std::time::Instant::now();
    let table = match bench_detection_with(quick, BenchSize::new(quick), 20_261_126, &judges) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&table) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!("{}", table.render_markdown());
    }
    eprintln!("benchmark took {:.1} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
