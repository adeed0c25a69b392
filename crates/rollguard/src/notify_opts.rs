//! Notification flags shared by `run` and `demo`: a generic JSON webhook and a
//! Slack-compatible incoming webhook. Sending is queued and retried in the
//! background; it never blocks the decision loop.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rollguard_actuators::{WebhookConfig, WebhookNotifier};
use rollguard_core::ports::Notifier;

#[derive(Args, Clone, Default)]
pub struct NotifyArgs {
    /// POST a JSON event here on promote, rollback, freeze and awaiting approval.
    #[arg(long = "notify-url", env = "ROLLGUARD_NOTIFY_URL")]
    pub notify_url: Option<String>,
    /// A Slack-compatible incoming webhook for the same events.
    #[arg(long = "slack-url", env = "ROLLGUARD_SLACK_URL")]
    pub slack_url: Option<String>,
}

struct Fanout(Vec<WebhookNotifier>);

impl Notifier for Fanout {
    fn notify(&self, rollout: &str, kind: &str, message: &str) {
        for n in &self.0 {
            n.notify(rollout, kind, message);
        }
    }
}

impl NotifyArgs {
    /// The notifier, or `None` when no URL is given. Must run inside the runtime.
    pub fn notifier(&self) -> anyhow::Result<Option<Arc<dyn Notifier>>> {
        let mut all = Vec::new();
        if let Some(url) = &self.notify_url {
            all.push(
                WebhookNotifier::json(WebhookConfig::new(url))
                    .with_context(|| format!("--notify-url {url}"))?,
            );
        }
        if let Some(url) = &self.slack_url {
            all.push(
                WebhookNotifier::slack(WebhookConfig::new(url))
                    .with_context(|| format!("--slack-url {url}"))?,
            );
        }
        Ok((!all.is_empty()).then(|| Arc::new(Fanout(all)) as Arc<dyn Notifier>))
    }
}
