//! Shared fixtures of the end-to-end tests: the `rollguard` binary as a child
//! process whose output is read line by line, demo upstream services on
//! loopback, rollout files written to a temp dir, load through the proxy, and
//! a read-only view of the SQLite ledger.
//!
//! Every wait has a generous deadline and fails with the child's whole output,
//! so a slow machine makes tests slower, never flaky; nothing asserts a speed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, LoadHandle, ServiceBehavior,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Longest any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(55);

/// For promotions, whose length depends on the traffic a loaded machine
/// manages to send (they take about 30 s on an idle one).
pub const PROMOTION_DEADLINE: Duration = Duration::from_secs(120);

/// The baseline every test uses: 0.2% errors, ~10 ms median.
pub fn baseline_behavior() -> ServiceBehavior {
    ServiceBehavior::healthy()
        .with_error_rate(0.002)
        .with_latency(LatencyModel::lognormal(10.0, 0.3))
}

/// A test's workspace: temp dir, ledger path, and the two upstreams.
pub struct Bed {
    pub dir: tempfile::TempDir,
    pub ledger: PathBuf,
    pub baseline: DemoService,
    pub canary: Option<DemoService>,
}

impl Bed {
    pub async fn new(canary: ServiceBehavior) -> Bed {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = dir.path().join("ledger.db");
        let baseline = DemoService::start("baseline v1", baseline_behavior())
            .await
            .expect("baseline service");
        let canary = DemoService::start("canary v2", canary)
            .await
            .expect("canary service");
        Bed {
            dir,
            ledger,
            baseline,
            canary: Some(canary),
        }
    }

    pub fn canary(&self) -> &DemoService {
        self.canary.as_ref().expect("canary still running")
    }

    /// Writes a rollout file against this bed's services; returns its path.
    pub fn rollout(&self, spec: &RolloutSpec) -> PathBuf {
        let canary = self
            .canary
            .as_ref()
            .map(|c| format!("http://{}", c.addr()))
            .expect("canary still running");
        let text = spec.yaml(&format!("http://{}", self.baseline.addr()), &canary);
        let path = self.dir.path().join(format!("{}.yaml", spec.name));
        std::fs::write(&path, text).expect("write rollout file");
        path
    }

    /// `rollguard --ledger LEDGER ARGS...`
    pub fn rollguard(&self, args: &[&str]) -> Rg {
        let ledger = self.ledger.display().to_string();
        let mut all = vec!["--ledger", ledger.as_str()];
        all.extend_from_slice(args);
        Rg::spawn(&all)
    }
}

/// The parts of a rollout file tests vary.
pub struct RolloutSpec {
    pub name: String,
    pub listen: String,
    /// YAML list items under `strategy.steps`, one per line.
    pub steps: Vec<String>,
    pub on_restart: &'static str,
}

impl RolloutSpec {
    pub fn new(name: &str, steps: &[&str]) -> Self {
        RolloutSpec {
            name: name.into(),
            listen: "127.0.0.1:0".into(),
            steps: steps.iter().map(|s| s.to_string()).collect(),
            on_restart: "resume",
        }
    }

    fn yaml(&self, baseline: &str, canary: &str) -> String {
        let steps: String = self
            .steps
            .iter()
            .map(|s| format!("      - {s}\n"))
            .collect();
        format!(
            "apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata:
  name: {name}
spec:
  service: shop
  baseline: {{version: v1, endpoint: \"{baseline}\"}}
  canary: {{version: v2, endpoint: \"{canary}\"}}
  router:
    builtin: {{listen: \"{listen}\", timeout: 5s}}
  telemetry: {{interval: 1s}}
  strategy:
    steps:
{steps}  analysis:
    alpha: 0.01
    passAlpha: 0.05
    onMaxDuration: wait
    metrics:
      - name: errors
        errorRate: {{}}
        maxIncrease: {{relative: 0.5, absolute: 0.01}}
        abortAbove: 0.5
      - name: latency-p50
        latency: {{baselineQuantile: 0.5}}
        maxIncrease: {{relative: 0.25, absolute: 0.05}}
  onFailure: rollback
  onRestart: {on_restart}
",
            name = self.name,
            listen = self.listen,
            on_restart = self.on_restart,
        )
    }
}

/// Open-loop load through the proxy at `addr`.
pub fn load(addr: SocketAddr, rps: f64) -> LoadHandle {
    let uri = format!("http://{addr}/checkout")
        .parse()
        .expect("proxy uri");
    LoadGenerator::start(LoadConfig::new(uri, rps, Duration::from_secs(300))).expect("load")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<(Stream, String)>>,
    changed: Notify,
}

/// A running `rollguard` child process.
pub struct Rg {
    child: Child,
    lines: Arc<Lines>,
    readers: Vec<JoinHandle<()>>,
    args: String,
}

/// A finished `rollguard` process.
pub struct Finished {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.describe()))
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn reader<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    r: R,
    which: Stream,
    lines: Arc<Lines>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut r = BufReader::new(r).lines();
        while let Ok(Some(line)) = r.next_line().await {
            if let Ok(mut l) = lines.lines.lock() {
                l.push((which, line));
            }
            lines.changed.notify_waiters();
        }
        lines.changed.notify_waiters();
    })
}

impl Rg {
    pub fn spawn(args: &[&str]) -> Rg {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollguard"))
            .args(args)
            .env_remove("ROLLGUARD_LEDGER")
            .env("ROLLGUARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the rollguard binary");
        let lines = Arc::new(Lines::default());
        let mut readers = Vec::new();
        if let Some(o) = child.stdout.take() {
            readers.push(reader(o, Stream::Stdout, lines.clone()));
        }
        if let Some(e) = child.stderr.take() {
            readers.push(reader(e, Stream::Stderr, lines.clone()));
        }
        Rg {
            child,
            lines,
            readers,
            args: args.join(" "),
        }
    }

    fn text(&self, which: Stream) -> String {
        self.lines
            .lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(w, _)| *w == which)
                    .map(|(_, s)| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    fn output_so_far(&self) -> String {
        format!(
            "rollguard {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.text(Stream::Stdout),
            self.text(Stream::Stderr)
        )
    }

    /// Waits for a line (on either stream) containing `needle`; returns it.
    pub async fn wait_line(&self, needle: &str) -> String {
        let wait = async {
            loop {
                let notified = self.lines.changed.notified();
                let found = self.lines.lines.lock().ok().and_then(|l| {
                    l.iter()
                        .find(|(_, s)| s.contains(needle))
                        .map(|(_, s)| s.clone())
                });
                if let Some(line) = found {
                    return line;
                }
                // Re-check at least every 200 ms (a notification may race the lock).
                let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
            }
        };
        match tokio::time::timeout(DEADLINE, wait).await {
            Ok(line) => line,
            Err(_) => panic!(
                "no line containing {needle:?} within {DEADLINE:?}:\n{}",
                self.output_so_far()
            ),
        }
    }

    /// The builtin proxy's address, from "proxy on http://ADDR" (stdout in text
    /// mode, stderr with `--output json`).
    pub async fn proxy_addr(&self) -> SocketAddr {
        let line = self.wait_line("proxy on http://").await;
        let rest = line
            .split("proxy on http://")
            .nth(1)
            .unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',')
            .next()
            .unwrap_or_default();
        rest.parse()
            .unwrap_or_else(|e| panic!("bad proxy address in {line:?}: {e}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("child still running")
    }

    /// Sends SIGINT (what Ctrl-C sends).
    pub async fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// SIGKILL: no chance to clean up (a crash).
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    pub async fn finish(self) -> Finished {
        self.finish_within(DEADLINE).await
    }

    /// Waits for the exit at most `limit` (for runs whose length depends on
    /// how much traffic a loaded machine gets through, e.g. promotions).
    pub async fn finish_within(mut self, limit: Duration) -> Finished {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(s) => s.expect("wait for rollguard"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "rollguard did not exit within {limit:?}:\n{}",
                    self.output_so_far()
                );
            }
        };
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
        }
        Finished {
            code: status.code(),
            stdout: self.text(Stream::Stdout),
            stderr: self.text(Stream::Stderr),
        }
    }
}

/// One stored ledger event, as the tests need it.
#[derive(Debug, Clone)]
pub struct Ev {
    pub seq: i64,
    pub time_ms: i64,
    pub kind: String,
    pub inputs: serde_json::Value,
    pub statistics: serde_json::Value,
    pub rationale: String,
}

impl Ev {
    pub fn weight(&self) -> Option<f64> {
        self.inputs.get("weight").and_then(|w| w.as_f64())
    }
    /// Canary requests judged so far by the first metric (cumulative).
    pub fn canary_judged(&self) -> Option<u64> {
        self.statistics["verdicts"][0]["canary"]["total"].as_u64()
    }
    pub fn step_index(&self) -> Option<u64> {
        self.inputs.get("step_index").and_then(|w| w.as_u64())
    }
}

/// Every event in the SQLite ledger at `path`, in seq order (empty when the
/// file does not exist).
pub fn ledger_events(path: &Path) -> Vec<Ev> {
    if !path.exists() {
        return Vec::new();
    }
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open ledger read-only");
    let has_table: bool = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'ledger_events'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .expect("read sqlite_master");
    if !has_table {
        return Vec::new();
    }
    let mut stmt = db
        .prepare("SELECT seq, time_ms, kind, inputs, rationale, statistics FROM ledger_events ORDER BY seq")
        .expect("prepare");
    stmt.query_map([], |r| {
        let inputs: String = r.get(3)?;
        Ok(Ev {
            seq: r.get(0)?,
            time_ms: r.get(1)?,
            kind: r.get(2)?,
            inputs: serde_json::from_str(&inputs).unwrap_or_default(),
            rationale: r.get(4)?,
            statistics: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
        })
    })
    .expect("query")
    .collect::<Result<Vec<_>, _>>()
    .expect("rows")
}

/// The `weight_set` events' weights, in order.
pub fn weights_set(events: &[Ev]) -> Vec<f64> {
    events
        .iter()
        .filter(|e| e.kind == "weight_set")
        .filter_map(|e| e.weight())
        .collect()
}

pub fn kinds(events: &[Ev]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}
