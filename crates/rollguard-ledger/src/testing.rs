//! A throw-away PostgreSQL server for tests (feature `test-util`; used by this
//! crate's tests and the distributed-control-plane tests): `initdb` into a temp dir,
//! started with `pg_ctl` on a free 127.0.0.1 port with its Unix socket in
//! the same dir, stopped (immediate mode) when dropped.
//!
//! The binaries are looked up under `/usr/lib/postgresql/*/bin` (Debian's
//! `postgresql` package; the newest version wins) or `$ROLLGUARD_PG_BIN`.
//! Missing binaries fail the test with their names.
//!
//! Running as root (CI containers): `initdb` and `postgres` refuse to run as
//! root, so the temp dir is created under `/tmp`, chowned to the `postgres`
//! user (created by the Debian package; `nobody` otherwise) and every server
//! command runs through `runuser -u USER --`. As any other user the commands
//! run directly.
//!
//! Test support: failures to start are panics with the reason, as a test wants.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub struct PgServer {
    dir: TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    pub port: u16,
}

fn find_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ROLLGUARD_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries `initdb` and `pg_ctl` not found under /usr/lib/postgresql/*/bin \
             (install the Debian `postgresql` package, as scripts/test does, or set ROLLGUARD_PG_BIN)"
        ),
    }
}

fn user_ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 for a free port")
        .port()
}

impl PgServer {
    pub fn start() -> PgServer {
        let bin = find_bin_dir();
        let is_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let (dir, run_as) = if is_root {
            let user = ["postgres", "nobody"]
                .into_iter()
                .find_map(|u| user_ids(u).map(|ids| (u, ids)));
            let Some((user, (uid, gid))) = user else {
                panic!(
                    "running as root and neither a `postgres` nor a `nobody` user exists to run initdb as"
                );
            };
            let dir = tempfile::Builder::new()
                .prefix("rollguard-pg-")
                .tempdir_in("/tmp")
                .expect("tempdir in /tmp");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown pg temp dir");
            (dir, Some(user.to_string()))
        } else {
            (tempfile::tempdir().expect("tempdir"), None)
        };
        let mut server = PgServer {
            dir,
            bin,
            run_as,
            port: 0,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "--username=rollguard",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // A port taken between probing and binding: try a few.
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                path_str(server.dir.path())
            );
            let log = server.dir.path().join("postgres.log");
            let out = server.command(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&data),
                    "-l",
                    path_str(&log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &opts,
                    "start",
                ],
            );
            if out.status.success() {
                server.port = port;
                return server;
            }
            last_err = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("pg_ctl start failed: {last_err}");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool, args);
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://rollguard@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_db(&self, db: &str) -> String {
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .expect("create database");
        self.url(db)
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data();
            let _ = self.command(
                "pg_ctl",
                &["-D", path_str(&data), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}
