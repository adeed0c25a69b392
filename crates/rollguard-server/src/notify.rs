//! Escalation by plain JSON webhook.
//!
//! [`WebhookNotifier::notify`] never blocks the rollout loop: it queues the
//! notification and returns; a background task POSTs
//! `{"rollout", "kind", "message", "time_ms", "source": "rollguard"}` to the
//! URL and retries failures (connection errors, 5xx, 429) with exponential
//! backoff. A notification that still fails is logged, not lost silently.

use std::time::Duration;

use rollguard_core::ports::Notifier;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::ServerError;

/// Attempts per notification (the first try included).
pub const ATTEMPTS: u32 = 5;
/// Delay before the first retry; doubled after each failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// One notification, as posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WebhookPayload {
    pub source: String,
    pub rollout: String,
    pub kind: String,
    pub message: String,
    pub time_ms: u64,
}

/// Posts notifications to one URL from a background task.
pub struct WebhookNotifier {
    url: String,
    tx: mpsc::UnboundedSender<WebhookPayload>,
}

impl WebhookNotifier {
    /// Starts the sender task on the current tokio runtime. The URL must be
    /// `http://` or `https://`.
    pub fn start(url: &str) -> Result<Self, ServerError> {
        let bad = |message: String| ServerError::Webhook {
            url: url.to_string(),
            message,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https".into()));
        }
        // reqwest is built without a default TLS provider: pick ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<WebhookPayload>();
        let target = parsed.clone();
        tokio::spawn(async move {
            while let Some(payload) = rx.recv().await {
                let client = client.clone();
                let target = target.clone();
                // One task per notification: a slow endpoint delays no other.
                tokio::spawn(async move { deliver(&client, target, payload).await });
            }
        });
        Ok(WebhookNotifier {
            url: url.to_string(),
            tx,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

async fn deliver(client: &reqwest::Client, url: reqwest::Url, payload: WebhookPayload) {
    let mut delay = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let outcome = client.post(url.clone()).json(&payload).send().await;
        let retry = match outcome {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                let s = r.status();
                tracing::warn!(%url, attempt, status = %s, rollout = %payload.rollout, "webhook refused the notification");
                s.is_server_error() || s.as_u16() == 429
            }
            Err(e) => {
                tracing::warn!(%url, attempt, error = %e, rollout = %payload.rollout, "webhook not reached");
                true
            }
        };
        if !retry || attempt == ATTEMPTS {
            break;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    tracing::error!(%url, rollout = %payload.rollout, kind = %payload.kind, "notification not delivered: {}", payload.message);
}

impl Notifier for WebhookNotifier {
    fn notify(&self, rollout: &str, kind: &str, message: &str) {
        let payload = WebhookPayload {
            source: "rollguard".into(),
            rollout: rollout.into(),
            kind: kind.into(),
            message: message.into(),
            time_ms: rollguard_runtime::now_ms(),
        };
        if self.tx.send(payload).is_err() {
            tracing::error!(url = %self.url, rollout, "webhook sender has stopped; notification dropped");
        }
    }
}
