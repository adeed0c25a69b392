//! A real Prometheus for tests (feature `test-util`): started from the
//! `prometheus` binary on a free loopback port, with a generated config that
//! scrapes the given targets every second and a temporary data directory.
//! A missing binary is an error naming it, so tests fail loudly.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::PromClient;

/// One scrape target.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    pub job: String,
    pub addr: SocketAddr,
    pub metrics_path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error(
        "the `{binary}` binary is not on PATH; install the Debian package `{package}` (scripts/test.sh does)"
    )]
    Missing {
        binary: &'static str,
        package: &'static str,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{binary} did not become ready within {secs} s; its log ends with:\n{log}")]
    NotReady {
        binary: &'static str,
        secs: u64,
        log: String,
    },
}

/// Finds `binary` on PATH (and in the sbin directories Debian uses).
pub fn find_binary(
    binary: &'static str,
    package: &'static str,
) -> Result<PathBuf, TestServerError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
        .ok_or(TestServerError::Missing { binary, package })
}

/// A free port on 127.0.0.1 (bound and released; the server binds it next).
pub fn free_port() -> Result<u16, TestServerError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| TestServerError::Io {
        what: "bind 127.0.0.1:0".into(),
        source: e,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| TestServerError::Io {
            what: "local address".into(),
            source: e,
        })
}

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
        let cfg_path = dir.path().join("prometheus.yml");
        std::fs::write(&cfg_path, cfg).map_err(|e| TestServerError::Io {
            what: format!("write {}", cfg_path.display()),
            source: e,
        })?;
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path).map_err(|e| TestServerError::Io {
            what: format!("create {}", log_path.display()),
            source: e,
        })?;
        let log2 = log.try_clone().map_err(|e| TestServerError::Io {
            what: "clone log handle".into(),
            source: e,
        })?;
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| TestServerError::Io {
                what: format!("start {}", bin.display()),
                source: e,
            })?;
        let server = PrometheusServer { child, port, dir };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
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
