//! Notifications to people: a Slack-compatible incoming webhook (`text` plus
//! Block Kit `blocks`) or a generic JSON webhook. [`WebhookNotifier::notify`]
//! only queues (bounded; never waits): a background task sends in order,
//! retrying each message with exponential backoff, so the decision loop is
//! never blocked by a slow or dead endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollguard_core::ports::Notifier;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Messages queued beyond this are dropped (and counted).
pub const QUEUE: usize = 256;

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// Tries per message.
    pub attempts: u32,
    /// First pause between tries (doubles).
    pub backoff: Duration,
    /// Per try.
    pub timeout: Duration,
}

impl WebhookConfig {
    pub fn new(url: &str) -> Self {
        WebhookConfig {
            url: url.to_string(),
            attempts: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Slack,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notifier for {url}: needs a running tokio runtime")]
    NoRuntime { url: String },
}

/// Delivery counters.
#[derive(Debug, Default)]
pub struct NotifyStats {
    pub delivered: AtomicU64,
    /// Gave up after every attempt.
    pub failed: AtomicU64,
    /// Queue full.
    pub dropped: AtomicU64,
}

struct Message {
    rollout: String,
    kind: String,
    text: String,
    at_ms: u64,
}

/// A webhook notifier (Slack or generic JSON).
pub struct WebhookNotifier {
    tx: mpsc::Sender<Message>,
    stats: Arc<NotifyStats>,
    url: String,
}

/// A Slack incoming webhook.
pub type SlackNotifier = WebhookNotifier;
/// A generic JSON webhook.
pub type JsonWebhookNotifier = WebhookNotifier;

impl WebhookNotifier {
    pub fn slack(cfg: WebhookConfig) -> Result<Self, NotifyError> {
        Self::spawn(cfg, Format::Slack)
    }

    pub fn json(cfg: WebhookConfig) -> Result<Self, NotifyError> {
        Self::spawn(cfg, Format::Json)
    }

    /// Starts the sending task on the current tokio runtime.
    pub fn spawn(cfg: WebhookConfig, format: Format) -> Result<Self, NotifyError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime {
            url: cfg.url.clone(),
        })?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(NotifyStats::default());
        let url = cfg.url.clone();
        handle.spawn(sender(cfg, format, rx, stats.clone()));
        Ok(WebhookNotifier { tx, stats, url })
    }

    pub fn stats(&self) -> &NotifyStats {
        &self.stats
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Notifier for WebhookNotifier {
    fn notify(&self, rollout: &str, kind: &str, message: &str) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let m = Message {
            rollout: rollout.to_string(),
            kind: kind.to_string(),
            text: message.to_string(),
            at_ms,
        };
        if self.tx.try_send(m).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(url = %self.url, rollout, kind, "notification queue full or closed; dropped");
        }
    }
}

fn headline(kind: &str) -> &str {
    match kind {
        "promoted" => "promoted",
        "rolled_back" => "rolled back",
        "frozen" => "frozen (a person must decide)",
        "awaiting_human" => "awaiting approval",
        "aborted" => "aborted",
        other => other,
    }
}

/// The Slack incoming-webhook body.
pub fn slack_payload(rollout: &str, kind: &str, text: &str) -> Value {
    let head = format!("rollguard: {rollout} {}", headline(kind));
    json!({
        "text": format!("{head}: {text}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("rollout `{rollout}` · event `{kind}`")}]}
        ]
    })
}

/// The generic JSON body.
pub fn json_payload(rollout: &str, kind: &str, text: &str, at_ms: u64) -> Value {
    json!({"source": "rollguard", "rollout": rollout, "kind": kind, "message": text, "time_ms": at_ms})
}

async fn sender(
    cfg: WebhookConfig,
    format: Format,
    mut rx: mpsc::Receiver<Message>,
    stats: Arc<NotifyStats>,
) {
    let http = reqwest::Client::new();
    while let Some(m) = rx.recv().await {
        let body = match format {
            Format::Slack => slack_payload(&m.rollout, &m.kind, &m.text),
            Format::Json => json_payload(&m.rollout, &m.kind, &m.text, m.at_ms),
        };
        let mut delay = cfg.backoff;
        let mut sent = false;
        for attempt in 1..=cfg.attempts.max(1) {
            match http
                .post(&cfg.url)
                .json(&body)
                .timeout(cfg.timeout)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    sent = true;
                    break;
                }
                Ok(r) => {
                    tracing::warn!(url = %cfg.url, attempt, status = r.status().as_u16(), "notification refused")
                }
                Err(e) => {
                    tracing::warn!(url = %cfg.url, attempt, error = %e, "notification not delivered")
                }
            }
            if attempt < cfg.attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        let counter = if sent {
            &stats.delivered
        } else {
            &stats.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
