//! Real servers for tests and benchmarks (Prometheus, HAProxy, PostgreSQL...):
//! finding the binary (a missing one is an error naming its Debian package, so
//! tests fail loudly), a free loopback port, and a child process whose output
//! goes to a log file in its own temporary directory, killed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum TestServerError {
    #[error(
        "the `{binary}` binary is not on PATH; install the Debian package `{package}` (./scripts/test does)"
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

impl TestServerError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        TestServerError::Io {
            what: what.into(),
            source,
        }
    }
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
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| TestServerError::io("bind 127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| TestServerError::io("local address", e))
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write_config(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, TestServerError> {
    let path = dir.join(name);
    std::fs::write(&path, contents)
        .map_err(|e| TestServerError::io(format!("write {}", path.display()), e))?;
    Ok(path)
}

/// Starts `command` with stdout and stderr appended to `log` (no stdin).
pub fn spawn_logged(mut command: Command, log: &Path) -> Result<Child, TestServerError> {
    let out = std::fs::File::create(log)
        .map_err(|e| TestServerError::io(format!("create {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| TestServerError::io("clone log handle", e))?;
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| TestServerError::io(format!("start {program}"), e))
}

/// The last `lines` lines of a log file (empty when unreadable).
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
