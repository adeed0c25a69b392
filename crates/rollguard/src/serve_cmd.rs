//! `rollguard serve`: runs many rollouts in one process behind the control
//! API (see the rollguard-server crate), on 127.0.0.1:7070 by default.
//!
//! Tokens come from `--tokens FILE` (YAML/JSON `token: {name, role, roles?}`)
//! and `ROLLGUARD_TOKEN_<NAME>=<role>:<token>`; without any, serve refuses to
//! start (an API nobody may call is a mistake). Ctrl-C stops the API, then
//! takes every canary out of traffic.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rollguard_core::ports::Notifier;
use rollguard_server::{
    Caller, Controller, ControllerConfig, Policy, Role, Tokens, WebhookNotifier, api,
};

use crate::exit::{self, Failure};
use crate::run::open_ledger;

#[derive(Args)]
pub struct ServeArgs {
    /// Address of the control API.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: String,
    /// API tokens file: YAML or JSON mapping `token: {name, role, roles?}`.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Policy bundle directory for rollouts that name none [default: the shipped bundle].
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// POST a JSON notification here when a rollout waits for a person.
    #[arg(long = "notify-url")]
    pub notify_url: Option<String>,
    /// Rollouts to start at once.
    #[arg(short = 'f', long = "file")]
    pub files: Vec<PathBuf>,
    /// The agent identity policy sees for the controller's own actions.
    #[arg(long, default_value = "rollguard")]
    pub agent: String,
}

pub async fn serve(a: ServeArgs, ledger: Option<String>) -> Result<u8, Failure> {
    let mut tokens = match &a.tokens {
        Some(p) => Tokens::load_file(p).map_err(Failure::invalid)?,
        None => Tokens::new(),
    };
    tokens
        .add_from_env(std::env::vars())
        .map_err(Failure::invalid)?;
    if tokens.is_empty() {
        return Err(Failure::invalid(anyhow::anyhow!(
            "no API tokens: pass --tokens FILE or set ROLLGUARD_TOKEN_<NAME>=<role>:<token>"
        )));
    }
    let policy = match &a.policy {
        Some(dir) => Policy::load(dir)
            .with_context(|| format!("policy bundle {}", dir.display()))
            .map_err(Failure::invalid)?,
        None => Policy::default_bundle()
            .context("the shipped policy bundle")
            .map_err(Failure::other)?,
    };
    let mut rollouts = Vec::new();
    for f in &a.files {
        rollouts.push(rollguard_core::spec::load_file(f).map_err(Failure::invalid)?);
    }
    let notifier: Option<Arc<dyn Notifier>> = match &a.notify_url {
        Some(url) => Some(Arc::new(
            WebhookNotifier::start(url).map_err(Failure::invalid)?,
        )),
        None => None,
    };
    let ledger = open_ledger(ledger).await?;
    let location = ledger.location().to_string();
    let controller = Controller::new(ControllerConfig {
        ledger: Some(ledger),
        policy: policy.clone(),
        notifier,
        agent: a.agent.clone(),
        error_budgets: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr().context("listening address")?;
    println!(
        "rollguard serve: API on http://{addr} ({} tokens), policy {} ({}), ledger {location}",
        tokens.len(),
        policy.source,
        &policy.bundle_hash()[..12.min(policy.bundle_hash().len())]
    );
    let starter = Caller {
        name: "serve".into(),
        role: Role::Admin,
        roles: Vec::new(),
    };
    for r in rollouts {
        let name = r.name.clone();
        match controller.start(r, &starter).await {
            Ok(s) => println!(
                "  started {name}{}",
                s.proxy
                    .map(|p| format!(" (proxy on {p})"))
                    .unwrap_or_default()
            ),
            Err(e) => eprintln!("error: rollout {name} did not start: {e}"),
        }
    }
    let app = api::router(controller.clone(), tokens);
    rollguard_server::serve(listener, app, async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await
    .map_err(Failure::other)?;
    println!("stopping: taking every canary out of traffic");
    controller.shutdown();
    for _ in 0..300 {
        if controller.all_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(exit::OK)
}
