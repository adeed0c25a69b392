//! Runs hooks (`spec.hooks`): an exec command (no shell) or an HTTP webhook,
//! each attempt bounded by the hook's timeout, retried with backoff up to its
//! `retries`. A command that outlives its timeout is killed, with its whole
//! process group, and counts as failed. Commands see `ROLLGUARD_ROLLOUT`,
//! `ROLLGUARD_SERVICE`, `ROLLGUARD_STAGE`, `ROLLGUARD_STEP` and
//! `ROLLGUARD_WEIGHT`; webhooks get the same as a JSON POST body.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rollguard_core::spec::{HookAction, HookSpec, HookStage};
use serde::Serialize;
use tokio::io::AsyncReadExt;

/// Where in the rollout a stage runs, as hooks see it.
#[derive(Debug, Clone, Serialize)]
pub struct HookContext {
    pub rollout: String,
    pub service: String,
    pub stage: HookStage,
    /// 1-based step number.
    pub step: usize,
    pub weight: f64,
}

/// How one hook went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookOutcome {
    pub name: String,
    pub ok: bool,
    pub attempts: u32,
    pub duration_ms: u64,
    /// Exit status or HTTP status of the last attempt, and its output's tail.
    pub detail: String,
}

impl std::fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} after {} attempt(s) in {} ms: {}",
            self.name,
            if self.ok { "succeeded" } else { "failed" },
            self.attempts,
            self.duration_ms,
            self.detail
        )
    }
}

/// Most output kept per attempt, in characters.
const TAIL: usize = 300;

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let n = text.chars().count();
    text.chars().skip(n.saturating_sub(TAIL)).collect()
}

/// Runs hooks; cheap to clone.
#[derive(Clone)]
pub struct HookRunner {
    http: reqwest::Client,
    backoff: Duration,
}

impl Default for HookRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl HookRunner {
    pub fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        HookRunner {
            http: reqwest::Client::new(),
            backoff: Duration::from_millis(200),
        }
    }

    /// First pause between attempts (doubles each time).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Runs the hooks of a stage in order. A blocking stage stops at the
    /// first failure; the others run every hook. `true` when all succeeded.
    pub async fn run_stage(
        &self,
        hooks: &[HookSpec],
        ctx: &HookContext,
    ) -> (bool, Vec<HookOutcome>) {
        let mut outcomes = Vec::new();
        for h in hooks {
            let o = self.run(h, ctx).await;
            let failed = !o.ok;
            outcomes.push(o);
            if failed && ctx.stage.blocks() {
                break;
            }
        }
        (outcomes.iter().all(|o| o.ok), outcomes)
    }

    /// One hook with its retries.
    pub async fn run(&self, hook: &HookSpec, ctx: &HookContext) -> HookOutcome {
        let started = Instant::now();
        let timeout = Duration::from_millis(hook.timeout);
        let mut delay = self.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = match &hook.action {
                HookAction::Exec { command } => run_exec(command, timeout, ctx).await,
                HookAction::Webhook { url } => self.run_webhook(url, timeout, ctx).await,
            };
            let last = attempts > hook.retries;
            match result {
                Ok(detail) => {
                    return self.outcome(hook, true, attempts, started, detail);
                }
                Err(detail) if last => {
                    return self.outcome(hook, false, attempts, started, detail);
                }
                Err(detail) => {
                    tracing::warn!(rollout = %ctx.rollout, hook = %hook.name, attempts, "hook failed, retrying: {detail}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }

    fn outcome(
        &self,
        hook: &HookSpec,
        ok: bool,
        attempts: u32,
        started: Instant,
        detail: String,
    ) -> HookOutcome {
        HookOutcome {
            name: hook.name.clone(),
            ok,
            attempts,
            duration_ms: started.elapsed().as_millis() as u64,
            detail,
        }
    }

    async fn run_webhook(
        &self,
        url: &str,
        timeout: Duration,
        ctx: &HookContext,
    ) -> Result<String, String> {
        let send = self.http.post(url).json(ctx).timeout(timeout).send();
        let resp = tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| format!("POST {url}: no answer within {} ms", timeout.as_millis()))?
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status();
        let body = tokio::time::timeout(timeout, resp.bytes())
            .await
            .ok()
            .and_then(|b| b.ok())
            .unwrap_or_default();
        if status.is_success() {
            Ok(format!("POST {url}: HTTP {}", status.as_u16()))
        } else {
            Err(format!(
                "POST {url}: HTTP {} {}",
                status.as_u16(),
                tail(&body)
            ))
        }
    }
}

/// Reads a pipe to its end (bounded by the caller).
async fn drain<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_end(&mut buf).await;
    }
    buf
}

async fn run_exec(
    command: &[String],
    timeout: Duration,
    ctx: &HookContext,
) -> Result<String, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("ROLLGUARD_ROLLOUT", &ctx.rollout)
        .env("ROLLGUARD_SERVICE", &ctx.service)
        .env("ROLLGUARD_STAGE", ctx.stage.as_str())
        .env("ROLLGUARD_STEP", ctx.step.to_string())
        .env("ROLLGUARD_WEIGHT", ctx.weight.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let out = tokio::spawn(drain(child.stdout.take()));
    let err = tokio::spawn(drain(child.stderr.take()));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(format!("{program}: {e}")),
        Err(_) => {
            kill_group(&mut child).await;
            return Err(format!(
                "{program}: killed after its {} ms timeout",
                timeout.as_millis()
            ));
        }
    };
    let grace = Duration::from_secs(1);
    let stdout = tokio::time::timeout(grace, out)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let stderr = tokio::time::timeout(grace, err)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();
    let text = if stderr.is_empty() {
        tail(&stdout)
    } else {
        tail(&stderr)
    };
    if status.success() {
        Ok(format!("{program}: exit 0 {text}").trim_end().to_string())
    } else {
        Err(format!("{program}: {status} {text}").trim_end().to_string())
    }
}

/// Kills the hook and everything it started (its own process group).
async fn kill_group(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}
