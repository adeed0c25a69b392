//! A real Prometheus for tests (feature `test-util`): started from the
//! `prometheus` binary on a free loopback port, with a generated config that
//! scrapes the given targets every second and a temporary data directory.
//! A missing binary is an error naming it, so tests fail loudly.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::client::PromClient;

/// One scrape target.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    pub job: String,
    pub addr: SocketAddr,
    pub metrics_path: String,
}

pub use rollguard_testbed::process::{TestServerError, find_binary, free_port};
use rollguard_testbed::process::{log_tail, spawn_logged, write_config};

/// A running Prometheus; killed on drop.
pub struct PrometheusServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` every second and waits until it
    /// answers `/-/ready`.
    pub async fn start(targets: &[ScrapeTarget]) -> Result<Self, TestServerError> {
        let bin = find_binary("prometheus", "prometheus")?;
        let dir = tempfile::tempdir().map_err(|e| TestServerError::Io {
            what: "temporary directory".into(),
            source: e,
        })?;
        let mut cfg = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for t in targets {
            cfg.push_str(&format!(
                "  - job_name: {}\n    metrics_path: {}\n    static_configs:\n      - targets: ['{}']\n",
                t.job, t.metrics_path, t.addr
            ));
        }
        let cfg_path = write_config(dir.path(), "prometheus.yml", &cfg)?;
        let port = free_port()?;
        let mut command = Command::new(&bin);
        command
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let child = spawn_logged(command, &dir.path().join("prometheus.log"))?;
        let server = PrometheusServer { child, port, dir };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("prometheus.log"), 15)
    }

    async fn wait_ready(&self, limit: Duration) -> Result<(), TestServerError> {
        crate::client::install_crypto_provider();
        let http = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/-/ready", self.url())).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(TestServerError::NotReady {
            binary: "prometheus",
            secs: limit.as_secs(),
            log: self.log_tail(),
        })
    }

    /// Waits until `query` (at the current time) returns a number of at
    /// least `min`, e.g. until the first scrapes have landed.
    pub async fn wait_for(
        &self,
        query: &str,
        min: f64,
        limit: Duration,
    ) -> Result<f64, TestServerError> {
        let client = PromClient::new(&self.url()).map_err(|e| TestServerError::Io {
            what: "client".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        while Instant::now() < deadline {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            match client.instant(query, now, Duration::from_secs(2)).await {
                Ok(v) if v >= min => return Ok(v),
                Ok(v) => last = format!("value {v}"),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(TestServerError::NotReady {
            binary: "prometheus",
            secs: limit.as_secs(),
            log: format!(
                "query {query} never reached {min} (last: {last})\n{}",
                self.log_tail()
            ),
        })
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
