//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "rollguard", version, about = "Autonomous canary releases with anytime-valid statistics", long_about = None)]
pub struct Cli {
    /// Ledger location: a SQLite file path or a postgres:// URL
    /// [default: $ROLLGUARD_HOME/ledger.db, ROLLGUARD_HOME defaulting to ~/.local/share/rollguard]
    #[arg(long, global = true, env = "ROLLGUARD_LEDGER")]
    pub ledger: Option<String>,
    /// More logs on stderr (-v info, -vv debug); or set ROLLGUARD_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Check a rollout file; errors name file:line:column and the field.
    Validate(ValidateArgs),
    /// Print the JSON Schema of rollout files (for editors).
    Schema,
    /// Run a rollout against real endpoints through the builtin proxy.
    Run(RunArgs),
    /// Run a whole canary on loopback: two bundled services, load, a rollout.
    Demo(DemoArgs),
    /// List recorded events.
    History(HistoryArgs),
    /// Tell the story of a rollout from its ledger.
    Explain(ExplainArgs),
    /// Verify or export the ledger.
    Ledger(LedgerArgs),
    /// Re-decide a recorded rollout from the ledger, or replay a traffic trace (CSV).
    Replay(ReplayArgs),
    /// Run many rollouts behind the control API (127.0.0.1:7070 by default).
    Serve(crate::serve_cmd::ServeArgs),
    /// Show the rollouts `rollguard serve` runs (--watch, --output json).
    Status(crate::client_cmd::StatusArgs),
    /// Start a rollout on `rollguard serve`.
    Apply(crate::client_cmd::ApplyArgs),
    /// Let a waiting rollout through its gate (recorded with --comment).
    Approve(crate::client_cmd::ApproveArgs),
    /// Hold a rollout at its weight (judging and rollback continue).
    Pause(crate::client_cmd::OverrideArgs),
    /// Continue a paused or waiting rollout.
    Resume(crate::client_cmd::OverrideArgs),
    /// Let the current step through, or with --full go to 100%.
    Promote(crate::client_cmd::PromoteArgs),
    /// Take the canary out of traffic and stop (always allowed).
    Abort(crate::client_cmd::OverrideArgs),
    /// Global pause, the big red button: no rollout may raise its weight (admin).
    PauseAll(crate::client_cmd::GlobalArgs),
    /// Lift the global pause and resume what it held (admin).
    ResumeAll(crate::client_cmd::GlobalArgs),
    /// Policy bundles: test (like opa test), eval, bench.
    Policy(crate::policy_cmd::PolicyArgs),
    /// The global controller on its own: mutual-TLS API, mandates, budgets, HA on PostgreSQL.
    Controller(crate::controller_cmd::ControllerArgs),
    /// An agent: runs mandated rollouts near the services, buffers and ships events.
    Agent(crate::agent_cmd::AgentArgs),
    /// A development CA and certificates for mutual TLS.
    Certs(crate::certs_cmd::CertsArgs),
    /// Simulate many rollouts of a scenario on a virtual clock with the real engine.
    Sim(SimArgs),
    /// Benchmarks: detection vs other tools, reaction, ledger, policy, data plane.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The rollout file.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Args)]
pub struct RunArgs {
    /// The rollout file.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// Do not write a ledger (and so cannot resume after a crash).
    #[arg(long)]
    pub no_ledger: bool,
    /// Start a new run even if the ledger holds an unfinished one.
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub notify: crate::notify_opts::NotifyArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Default, Debug)]
pub enum CanaryKind {
    /// Same as the baseline: promoted.
    Healthy,
    /// 8% extra errors: rolled back.
    #[default]
    Errors,
    /// Median latency +60%: rolled back.
    Latency,
    /// Median unchanged, p99 more than doubled: rolled back.
    Tail,
}

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, value_enum, default_value_t)]
    pub canary: CanaryKind,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// Load through the proxy, requests per second.
    #[arg(long, default_value_t = 400.0)]
    pub rps: f64,
}

#[derive(Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub rollout: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// Include the per-window `observed` events.
    #[arg(long)]
    pub all: bool,
    /// At most this many events (the latest).
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Args)]
pub struct ExplainArgs {
    pub rollout: String,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCmd,
}

#[derive(Subcommand)]
pub enum LedgerCmd {
    /// Recompute the hash chain; names the first bad seq. Exit 1 if tampered.
    Verify {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Retention: delete events older than a duration (e.g. 90d is `2160h`);
    /// the chain stays verifiable from an anchor. Raw request data is never stored.
    Prune {
        /// Keep events newer than this (`30m`, `24h`, `2160h`).
        #[arg(long = "older-than")]
        older_than: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Write every event as JSON Lines (for a SIEM).
    Export {
        /// Output file (default: stdout).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Re-decide the latest run of this rollout from the ledger.
    #[arg(long = "from-ledger", conflicts_with = "trace")]
    pub from_ledger: Option<String>,
    /// The rollout to run (with --trace), or to judge with instead of the
    /// recorded spec (with --from-ledger).
    #[arg(long)]
    pub rollout: Option<PathBuf>,
    /// A trace CSV `t_ms,version,status,latency_ms`; each version's rows are its
    /// traffic at full load, thinned by the weight in force (seeded).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Detection: scenarios x judges (rollguard, Argo, Flagger, Kayenta, Wald oracle).
    Detection(DetectionArgs),
    /// Time from a canary starting to fail to its weight at 0; builtin proxy overhead.
    Reaction(crate::bench_cmd::ReactionArgs),
    /// Ledger appends per second by concurrency, and verification time.
    Ledger(crate::bench_cmd::LedgerBenchArgs),
    /// Policy evaluation latency with the default bundle (p50/p99 per action).
    Policy(crate::policy_cmd::BenchPolicyArgs),
    /// Data plane: direct vs builtin proxy vs HAProxy, measured with wrk in one run.
    Proxy(ProxyBenchArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Default, Debug)]
pub enum SimJudge {
    /// rollguard's anytime-valid sequential tests.
    #[default]
    Rollguard,
    /// Argo Rollouts: threshold per interval, fails when failed > failureLimit.
    Argo,
    /// Flagger: thresholdRange per interval, fails at `threshold` failed checks.
    Flagger,
    /// Kayenta: Mann-Whitney on per-interval points.
    Kayenta,
    /// Wald's SPRT knowing the true rates (a lower bound, not a real judge).
    Oracle,
}

#[derive(Args)]
pub struct SimArgs {
    #[arg(long)]
    pub rollout: PathBuf,
    #[arg(long)]
    pub scenario: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t)]
    pub judge: SimJudge,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Args)]
pub struct DetectionArgs {
    /// Fewer runs (about a minute); the full run takes several minutes.
    #[arg(long)]
    pub quick: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Args)]
pub struct ProxyBenchArgs {
    /// Seconds of load per data plane.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}
