//! A real HAProxy process for tests and the benchmark: started from the
//! `haproxy` binary in the foreground with a generated config: one HTTP
//! frontend on a free loopback port, backend `web` with the given servers, an
//! admin stats socket in a temporary directory, and the Prometheus exporter
//! on a second port. A missing binary is an error naming it, so tests fail
//! loudly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub use rollguard_testbed::process::{TestServerError, find_binary, free_port};
use rollguard_testbed::process::{log_tail, spawn_logged, write_config};

/// A running HAProxy; killed on drop.
pub struct HaproxyServer {
    child: Child,
    dir: tempfile::TempDir,
    pub frontend: SocketAddr,
    pub exporter: SocketAddr,
    pub backend: String,
}

impl HaproxyServer {
    /// Backend `web` with these servers: (name, address, weight).
    pub async fn start(servers: &[(&str, SocketAddr, u32)]) -> Result<Self, TestServerError> {
        let bin = find_binary("haproxy", "haproxy")?;
        let dir = tempfile::tempdir().map_err(|e| TestServerError::Io {
            what: "temporary directory".into(),
            source: e,
        })?;
        let frontend: SocketAddr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let exporter: SocketAddr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let socket = dir.path().join("admin.sock");
        let cfg = format!(
            "global\n  stats socket {sock} mode 600 level admin\n  maxconn 4096\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
             frontend fe\n  bind {frontend}\n  default_backend web\n\
             frontend metrics\n  bind {exporter}\n  http-request use-service prometheus-exporter if {{ path /metrics }}\n\
             backend web\n  balance roundrobin\n",
            sock = socket.display()
        );
        let mut cfg = cfg;
        for (name, addr, weight) in servers {
            cfg.push_str(&format!("  server {name} {addr} weight {weight}\n"));
        }
        let cfg_path = write_config(dir.path(), "haproxy.cfg", &cfg)?;
        let mut command = Command::new(&bin);
        command.arg("-db").arg("-f").arg(&cfg_path);
        let child = spawn_logged(command, &dir.path().join("haproxy.log"))?;
        let server = HaproxyServer {
            child,
            dir,
            frontend,
            exporter,
            backend: "web".into(),
        };
        server.wait_ready(Duration::from_secs(20)).await?;
        Ok(server)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("haproxy.log"), 40)
    }

    async fn wait_ready(&self, limit: Duration) -> Result<(), TestServerError> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let sock_ok = tokio::net::UnixStream::connect(self.socket()).await.is_ok();
            let fe_ok = tokio::net::TcpStream::connect(self.frontend).await.is_ok();
            if sock_ok && fe_ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(TestServerError::NotReady {
            binary: "haproxy",
            secs: limit.as_secs(),
            log: self.log_tail(),
        })
    }

    /// Stops HAProxy (its socket goes away).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HaproxyServer {
    fn drop(&mut self) {
        self.kill();
    }
}
