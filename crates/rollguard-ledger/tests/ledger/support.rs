//! Fixtures: sample events and raw access to a store behind the ledger's back.

use rollguard_ledger::NewEvent;
use serde_json::json;

/// A decision event of `rollout` at `time_ms`.
pub fn event(rollout: &str, kind: &str, time_ms: i64) -> NewEvent {
    NewEvent {
        time_ms,
        rollout: rollout.to_string(),
        kind: kind.to_string(),
        actor: "controller".into(),
        idempotency_key: None,
        inputs: json!({"canary": {"requests": 1000, "errors": 3}, "baseline": {"requests": 9000, "errors": 20}}),
        statistics: json!({"errors": {"e_value": 2.5, "ci": [-0.1, 0.4]}}),
        policy: Some(json!({"bundle": "sha256:abc", "result": "allow"})),
        rationale: format!("{kind} at {time_ms}"),
    }
}

/// `event` with an idempotency key.
pub fn keyed(rollout: &str, key: &str, time_ms: i64) -> NewEvent {
    NewEvent {
        idempotency_key: Some(key.to_string()),
        ..event(rollout, "weight_set", time_ms)
    }
}

/// Raw SQL on the store, bypassing the ledger (to tamper with it).
pub enum Raw {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Raw {
    pub async fn exec(&self, sql: &str) {
        match self {
            Raw::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open raw sqlite");
                conn.execute_batch(sql).expect("raw sqlite statement");
            }
            Raw::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("raw postgres connect");
                tokio::spawn(conn);
                client
                    .batch_execute(sql)
                    .await
                    .expect("raw postgres statement");
            }
        }
    }
}
