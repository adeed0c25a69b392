//! Clients of `rollguard serve`'s API: `status`, `apply`, `approve`, `pause`,
//! `resume`, `promote`, `abort`, `pause-all`, `resume-all`.
//!
//! Exit codes: 0 accepted, 1 server unreachable or a server error, 2 bad
//! input (400), 3 refused (401, 403, 409 policy), 4 not found (404).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use serde_json::{Value, json};

use crate::cli::Output;
use crate::exit::{self, Failure};

#[derive(Args, Clone)]
pub struct ClientOpts {
    /// Address of `rollguard serve`.
    #[arg(
        long,
        env = "ROLLGUARD_SERVER",
        default_value = "http://127.0.0.1:7070"
    )]
    pub server: String,
    /// API token.
    #[arg(long, env = "ROLLGUARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Args)]
pub struct StatusArgs {
    /// One rollout (default: all).
    pub rollout: Option<String>,
    /// Refresh every 2 s until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    #[command(flatten)]
    pub client: ClientOpts,
}

#[derive(Args)]
pub struct ApplyArgs {
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    #[command(flatten)]
    pub client: ClientOpts,
}

#[derive(Args)]
pub struct ApproveArgs {
    pub rollout: String,
    /// Why (required; recorded in the ledger).
    #[arg(long)]
    pub comment: String,
    #[command(flatten)]
    pub client: ClientOpts,
}

#[derive(Args)]
pub struct OverrideArgs {
    pub rollout: String,
    /// Why (recorded in the ledger).
    #[arg(long)]
    pub comment: Option<String>,
    #[command(flatten)]
    pub client: ClientOpts,
}

#[derive(Args)]
pub struct PromoteArgs {
    pub rollout: String,
    /// Go straight to 100%.
    #[arg(long)]
    pub full: bool,
    #[arg(long)]
    pub comment: Option<String>,
    #[command(flatten)]
    pub client: ClientOpts,
}

#[derive(Args)]
pub struct GlobalArgs {
    #[arg(long)]
    pub comment: Option<String>,
    #[command(flatten)]
    pub client: ClientOpts,
}

struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    fn new(o: &ClientOpts) -> Result<Api, Failure> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?;
        Ok(Api {
            base: o.server.trim_end_matches('/').to_string(),
            token: o.token.clone(),
            http,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<reqwest::Body>,
        json_body: bool,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            let ct = if json_body {
                "application/json"
            } else {
                "application/yaml"
            };
            req = req.header("content-type", ct).body(b);
        }
        let resp = req.send().await.with_context(|| {
            format!(
                "cannot reach rollguard serve at {} (set --server or ROLLGUARD_SERVER)",
                self.base
            )
        })?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("reading the answer of {url}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let mut message = value["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        for p in value["problems"].as_array().into_iter().flatten() {
            let line = p["line"]
                .as_u64()
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            message.push_str(&format!(
                "\n  {}{line}: {}",
                p["field"].as_str().unwrap_or("?"),
                p["message"].as_str().unwrap_or("")
            ));
        }
        if status.as_u16() == 401 && self.token.is_none() {
            message.push_str(" (pass --token or set ROLLGUARD_TOKEN)");
        }
        let code = match status.as_u16() {
            400 => exit::INVALID,
            401 | 403 | 409 => exit::ROLLED_BACK,
            404 => exit::WAITING,
            _ => exit::OTHER,
        };
        Err(Failure {
            code,
            error: anyhow!("{status}: {message}"),
        })
    }
}

pub async fn status(a: StatusArgs) -> Result<u8, Failure> {
    let api = Api::new(&a.client)?;
    let path = match &a.rollout {
        Some(r) => format!("/v1/rollouts/{r}"),
        None => "/v1/rollouts".into(),
    };
    loop {
        let v = api.send(reqwest::Method::GET, &path, None, false).await?;
        match a.output {
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(Failure::other)?
            ),
            Output::Text => {
                if a.watch {
                    print!("\x1b[2J\x1b[H");
                }
                if a.rollout.is_some() {
                    print_rows(std::slice::from_ref(&v));
                } else {
                    if v["global"]["global_pause"].as_bool() == Some(true) {
                        println!(
                            "GLOBAL PAUSE is on (by {}): no rollout may raise its weight",
                            v["global"]["paused_by"].as_str().unwrap_or("?")
                        );
                    }
                    print_rows(
                        v["rollouts"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or_default(),
                    );
                }
            }
        }
        if !a.watch {
            return Ok(exit::OK);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(exit::OK),
        }
    }
}

fn print_rows(rows: &[Value]) {
    if rows.is_empty() {
        println!("no rollouts");
        return;
    }
    println!(
        "{:<24} {:<12} {:>6} {:>7}  {:<16} DETAIL",
        "ROLLOUT", "SERVICE", "STEP", "WEIGHT", "STATE"
    );
    for r in rows {
        let state = r["state"]["status"].as_str().unwrap_or("?");
        let state = match (state, r["state"]["outcome"].as_str()) {
            ("done", Some(o)) => o.to_string(),
            (s, _) => s.to_string(),
        };
        let detail = r["state"]["reason"]
            .as_str()
            .or(r["state"]["by"].as_str())
            .or(r["error"].as_str())
            .unwrap_or("");
        println!(
            "{:<24} {:<12} {:>6} {:>6}%  {:<16} {detail}",
            r["rollout"].as_str().unwrap_or("?"),
            r["service"].as_str().unwrap_or("?"),
            format!("{}/{}", r["step"], r["steps"]),
            r["weight"].as_f64().unwrap_or(0.0),
            state
        );
    }
}

pub async fn apply(a: ApplyArgs) -> Result<u8, Failure> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))
        .map_err(Failure::invalid)?;
    // Validate locally first: errors then name the file, not "request body".
    rollguard_core::spec::load(&text, &a.file.display().to_string()).map_err(Failure::invalid)?;
    let api = Api::new(&a.client)?;
    let v = api
        .send(
            reqwest::Method::POST,
            "/v1/rollouts",
            Some(text.into()),
            false,
        )
        .await?;
    println!(
        "started {}{}",
        v["rollout"].as_str().unwrap_or("?"),
        v["proxy"]
            .as_str()
            .map(|p| format!(" (builtin proxy on {p})"))
            .unwrap_or_default()
    );
    Ok(exit::OK)
}

async fn command(
    client: &ClientOpts,
    rollout: &str,
    verb: &str,
    body: Value,
) -> Result<u8, Failure> {
    let api = Api::new(client)?;
    let v = api
        .send(
            reqwest::Method::POST,
            &format!("/v1/rollouts/{rollout}/{verb}"),
            Some(body.to_string().into()),
            true,
        )
        .await?;
    println!(
        "{verb} {rollout}: accepted (by {})",
        v["by"].as_str().unwrap_or("?")
    );
    Ok(exit::OK)
}

pub async fn approve(a: ApproveArgs) -> Result<u8, Failure> {
    command(
        &a.client,
        &a.rollout,
        "approve",
        json!({"comment": a.comment}),
    )
    .await
}

pub async fn override_cmd(verb: &str, a: OverrideArgs) -> Result<u8, Failure> {
    command(&a.client, &a.rollout, verb, json!({"comment": a.comment})).await
}

pub async fn promote(a: PromoteArgs) -> Result<u8, Failure> {
    command(
        &a.client,
        &a.rollout,
        "promote",
        json!({"comment": a.comment, "full": a.full}),
    )
    .await
}

pub async fn global(path: &str, a: GlobalArgs) -> Result<u8, Failure> {
    let api = Api::new(&a.client)?;
    let v = api
        .send(
            reqwest::Method::POST,
            path,
            Some(json!({"comment": a.comment}).to_string().into()),
            true,
        )
        .await?;
    let on = v["global_pause"].as_bool() == Some(true);
    println!("global pause is {}", if on { "ON" } else { "off" });
    if let Some(r) = v["resumed"].as_array().filter(|r| !r.is_empty()) {
        println!(
            "resumed: {}",
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(exit::OK)
}
