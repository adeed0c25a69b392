//! The ledger schema shared by both stores, and its version marker.
//!
//! Tables (same names and columns in SQLite and PostgreSQL):
//!
//! - `ledger_meta(key, value)`: `application = rollguard-ledger` and
//!   `schema_version`. SQLite files also carry `PRAGMA application_id =
//!   0x52474C44` ("RGLD") and `user_version = schema_version`.
//! - `ledger_events`: one row per event; `inputs`, `statistics` and `policy`
//!   hold canonical JSON *text* (not JSONB, which would re-encode it).
//! - `ledger_chain`: one row (`id = 1`) with the head (last seq and hash,
//!   updated in every commit) and the retention anchor (last pruned seq and
//!   hash, and how many were pruned).
//!
//! A newer `schema_version` than [`SCHEMA_VERSION`] is refused; older ones
//! would be migrated forward in the open path (there are none yet).

/// Schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Value of `ledger_meta.application`.
pub const APPLICATION: &str = "rollguard-ledger";

/// SQLite `PRAGMA application_id` of a ledger file ("RGLD").
pub const SQLITE_APPLICATION_ID: i64 = 0x5247_4C44;

/// Columns of `ledger_events` in the order the stores select them.
pub(crate) const EVENT_COLUMNS: &str = "seq, time_ms, rollout, kind, actor, idempotency_key, \
     inputs, statistics, policy, rationale, prev_hash, hash";

/// DDL for both backends (`seq` as a 64-bit integer key in each).
pub(crate) fn create_tables_sql(seq_type: &str) -> String {
    format!(
        "CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE ledger_events (
             seq {seq_type} PRIMARY KEY,
             time_ms BIGINT NOT NULL,
             rollout TEXT NOT NULL,
             kind TEXT NOT NULL,
             actor TEXT NOT NULL,
             idempotency_key TEXT UNIQUE,
             inputs TEXT NOT NULL,
             statistics TEXT NOT NULL,
             policy TEXT,
             rationale TEXT NOT NULL,
             prev_hash TEXT NOT NULL,
             hash TEXT NOT NULL
         );
         CREATE INDEX ledger_events_rollout ON ledger_events (rollout, seq);
         CREATE TABLE ledger_chain (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             head_seq BIGINT NOT NULL,
             head_hash TEXT NOT NULL,
             anchor_seq BIGINT NOT NULL,
             anchor_hash TEXT NOT NULL,
             pruned BIGINT NOT NULL
         );
         INSERT INTO ledger_meta (key, value) VALUES ('application', '{APPLICATION}'), ('schema_version', '{SCHEMA_VERSION}');
         INSERT INTO ledger_chain VALUES (1, 0, '{g}', 0, '{g}', 0);",
        g = crate::GENESIS_HASH
    )
}

/// Checks the `ledger_meta` values of an existing ledger.
pub(crate) fn check_meta(
    location: &str,
    application: Option<String>,
    version: Option<String>,
) -> crate::Result<()> {
    let foreign = |detail: String| crate::LedgerError::Foreign {
        location: location.to_string(),
        detail,
    };
    match application.as_deref() {
        Some(APPLICATION) => {}
        Some(other) => {
            return Err(foreign(format!(
                "ledger_meta.application is {other:?}, expected {APPLICATION:?}"
            )));
        }
        None => return Err(foreign("ledger_meta has no application marker".into())),
    }
    let version = version.ok_or_else(|| foreign("ledger_meta has no schema_version".into()))?;
    let found: i64 = version
        .parse()
        .map_err(|_| foreign(format!("schema_version {version:?} is not a number")))?;
    if found > SCHEMA_VERSION {
        return Err(crate::LedgerError::NewerSchema {
            location: location.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        return Err(foreign(format!("schema_version {found} is not valid")));
    }
    Ok(())
}

/// Per-rollout summary, identical SQL for both backends.
pub(crate) const ROLLOUTS_SQL: &str = "SELECT r.rollout, r.first_ms, r.last_ms, r.n, e.kind \
     FROM (SELECT rollout, MIN(time_ms) AS first_ms, MAX(time_ms) AS last_ms, COUNT(*) AS n, \
                  MAX(seq) AS last_seq \
           FROM ledger_events GROUP BY rollout) r \
     JOIN ledger_events e ON e.seq = r.last_seq ORDER BY r.rollout";
