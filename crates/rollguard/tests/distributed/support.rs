//! Fixtures for the distributed tests: certificates, `rollguard` processes
//! (killed when dropped, stderr kept in a log file), rollout files, demo
//! services with load, an mTLS client, and polling helpers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rollguard_ledger::{Event, EventFilter, Ledger};
use rollguard_mtls::{IssueOptions, TlsFiles};
use rollguard_testbed::{
    DemoService, LatencyModel, LoadConfig, LoadGenerator, LoadHandle, ServiceBehavior,
};

pub fn free_port() -> u16 {
    rollguard_testbed::process::free_port().expect("a free loopback port")
}

/// A controller on a free port with its own SQLite ledger in `dir`, holding
/// the rollout file `rollout` with mandates of `lease`.
pub fn spawn_controller(
    dir: &Path,
    certs: &Certs,
    rollout: &Path,
    lease: &str,
) -> (Proc, u16, PathBuf) {
    let port = free_port();
    let ledger_path = dir.join("controller.db");
    let ctl = Proc::spawn(
        "controller",
        dir,
        &controller_args(
            certs,
            port,
            ledger_path.to_str().expect("utf-8"),
            &["-f", rollout.to_str().expect("utf-8"), "--lease", lease],
        ),
    );
    (ctl, port, ledger_path)
}

/// A CA with certificates for a controller, two agents (svc-a, svc-b) and an operator.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        rollguard_mtls::install_crypto_provider();
        let dir = dir.join("tls");
        let bin = env!("CARGO_BIN_EXE_rollguard");
        let run = |args: &[&str]| {
            let out = Command::new(bin)
                .args(args)
                .output()
                .expect("run rollguard certs");
            assert!(
                out.status.success(),
                "rollguard {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let d = dir.to_str().expect("utf-8 dir");
        run(&["certs", "init", "--dir", d]);
        run(&[
            "certs",
            "issue",
            "--dir",
            d,
            "--name",
            "controller",
            "--roles",
            "controller",
        ]);
        run(&[
            "certs",
            "issue",
            "--dir",
            d,
            "--name",
            "agent-a",
            "--services",
            "svc-a",
        ]);
        run(&[
            "certs",
            "issue",
            "--dir",
            d,
            "--name",
            "agent-b",
            "--services",
            "svc-b",
        ]);
        run(&[
            "certs", "issue", "--dir", d, "--name", "operator", "--roles", "operator",
        ]);
        run(&[
            "certs",
            "issue",
            "--dir",
            d,
            "--name",
            "revoked-agent",
            "--services",
            "svc-a",
        ]);
        run(&["certs", "revoke", "--dir", d, "--name", "revoked-agent"]);
        Certs { dir }
    }

    pub fn files(&self, name: &str) -> TlsFiles {
        TlsFiles::in_dir(&self.dir, name)
    }

    /// A certificate from this CA that expired yesterday.
    pub fn expired(&self, name: &str) -> TlsFiles {
        let mut o = IssueOptions::new(name, 1);
        o.roles = vec!["agent".into()];
        o.services = vec!["svc-a".into()];
        o.not_before -= time_days(3);
        o.not_after -= time_days(2);
        rollguard_mtls::issue(&self.dir, &o).expect("issue expired cert");
        self.files(name)
    }

    /// A certificate from another CA (foreign), with this CA as the trust root.
    pub fn foreign(&self, name: &str) -> TlsFiles {
        let other = self.dir.with_file_name("foreign-ca");
        rollguard_mtls::init_ca(&other).expect("foreign CA");
        let mut o = IssueOptions::new(name, 30);
        o.roles = vec!["agent".into()];
        o.services = vec!["svc-a".into()];
        rollguard_mtls::issue(&other, &o).expect("issue foreign cert");
        TlsFiles {
            ca: self.dir.join("ca.pem"),
            cert: other.join(format!("{name}.pem")),
            key: other.join(format!("{name}.key")),
        }
    }
}

fn time_days(d: i64) -> time::Duration {
    time::Duration::days(d)
}

/// A `rollguard` process, SIGKILLed when dropped.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub name: String,
}

impl Proc {
    pub fn spawn(name: &str, dir: &Path, args: &[String]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create log file");
        let child = Command::new(env!("CARGO_BIN_EXE_rollguard"))
            .args(args)
            .env(
                "ROLLGUARD_LOG",
                "info,rollguard_ledger=warn,rollguard_proxy=warn",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn rollguard");
        Proc {
            child,
            log,
            name: name.into(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (a clean stop).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill9();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn controller_args(certs: &Certs, port: u16, ledger: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--ledger".into(),
        ledger.into(),
        "controller".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--tls-dir".into(),
        certs.dir.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

pub fn agent_args(
    certs: &Certs,
    name: &str,
    controllers: &[String],
    data: &Path,
    extra: &[&str],
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "agent".into(),
        "--tls-dir".into(),
        certs.dir.display().to_string(),
        "--name".into(),
        name.into(),
        "--controller".into(),
        controllers.join(","),
        "--data-dir".into(),
        data.display().to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Baseline and canary services with load through the rollout's proxy port.
pub struct Workload {
    pub baseline: DemoService,
    pub canary: DemoService,
    pub proxy_port: u16,
    /// Keeps the load running for the life of the workload.
    pub _load: LoadHandle,
}

pub fn healthy() -> ServiceBehavior {
    ServiceBehavior::healthy()
        .with_error_rate(0.002)
        .with_latency(LatencyModel::lognormal(5.0, 0.3))
}

impl Workload {
    pub async fn start(rps: f64) -> Workload {
        let baseline = DemoService::start("baseline", healthy())
            .await
            .expect("baseline");
        let canary = DemoService::start("canary", healthy())
            .await
            .expect("canary");
        let proxy_port = free_port();
        let uri = format!("http://127.0.0.1:{proxy_port}/")
            .parse()
            .expect("uri");
        let load = LoadGenerator::start(LoadConfig::new(uri, rps, Duration::from_secs(600)))
            .expect("load");
        Workload {
            baseline,
            canary,
            proxy_port,
            _load: load,
        }
    }

    pub fn break_canary(&self) {
        self.canary
            .set_behavior(healthy().with_error_rate(0.3))
            .expect("set canary behaviour");
    }
}

/// A rollout file; `analyze` is the first analysis step's minimum duration.
pub fn rollout_yaml(
    name: &str,
    service: &str,
    env: &str,
    w: &Workload,
    first_analyze: &str,
) -> String {
    format!(
        r#"apiVersion: rollguard.dev/v1alpha1
kind: Rollout
metadata:
  name: {name}
  labels: {{env: {env}}}
spec:
  service: {service}
  baseline: {{version: v1, endpoint: "http://{b}"}}
  canary: {{version: v2, endpoint: "http://{c}"}}
  router:
    builtin: {{listen: "127.0.0.1:{p}"}}
  telemetry: {{interval: 500ms}}
  strategy:
    steps:
      - setWeight: 10
      - analyze: {{minDuration: {first_analyze}, maxDuration: 120s}}
      - setWeight: 50
      - analyze: {{minDuration: 3s, maxDuration: 120s}}
  analysis:
    alpha: 0.01
    passAlpha: 0.05
    onMaxDuration: wait
    metrics:
      - name: errors
        errorRate: {{}}
        maxIncrease: {{relative: 0.5, absolute: 0.02}}
        abortAbove: 0.5
  onFailure: rollback
"#,
        b = w.baseline.addr(),
        c = w.canary.addr(),
        p = w.proxy_port,
    )
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

/// An mTLS client presenting `files`.
pub fn client(files: &TlsFiles) -> reqwest::Client {
    rollguard_mtls::install_crypto_provider();
    let cfg = rollguard_mtls::client_config(files).expect("client config");
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    wait_logged(what, timeout, &[], f).await
}

/// [`wait_for`], showing the processes' logs on timeout.
pub async fn wait_logged<T, F, Fut>(what: &str, timeout: Duration, procs: &[&Proc], mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            logs(procs)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn events_of(ledger: &Ledger, rollout: &str) -> Vec<Event> {
    ledger
        .events(EventFilter {
            rollout: Some(rollout.into()),
            ..EventFilter::default()
        })
        .await
        .unwrap_or_default()
}

/// Every idempotency key in the ledger appears once; returns how many events.
pub async fn assert_no_duplicates(ledger: &Ledger) -> usize {
    let all = ledger
        .events(EventFilter::default())
        .await
        .expect("read ledger");
    let mut keys = std::collections::HashSet::new();
    for e in &all {
        if let Some(k) = &e.idempotency_key {
            assert!(
                keys.insert(k.clone()),
                "duplicate idempotency key {k} at seq {}",
                e.seq
            );
        }
    }
    all.len()
}

/// The controller log, for failure messages.
pub fn logs(procs: &[&Proc]) -> String {
    procs
        .iter()
        .map(|p| format!("----- {} -----\n{}", p.name, p.log_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Opens a ledger another process is creating (retries while it is locked).
pub async fn open_ledger(location: &str) -> Ledger {
    wait_for(
        &format!("the ledger {location} to open"),
        Duration::from_secs(30),
        || async { Ledger::open(location).await.ok() },
    )
    .await
}
