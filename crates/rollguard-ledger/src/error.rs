//! Errors of the ledger. Every variant names the ledger location (file path
//! or redacted PostgreSQL URL) and what was being done. Sources are behind
//! `Arc` so one failed group commit can be reported to every waiting caller.

use std::sync::Arc;

/// Errors of the ledger.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "{location}: not a SQLite database (corrupt, or another kind of file); refusing to use it as a rollguard ledger, nothing was changed"
    )]
    NotSqlite { location: String },

    #[error(
        "{location}: not a rollguard ledger ({detail}); refusing to touch it, nothing was changed"
    )]
    Foreign { location: String, detail: String },

    #[error(
        "{location}: ledger schema version {found} is newer than this build supports ({supported}); upgrade rollguard (nothing was changed, no migration was run)"
    )]
    NewerSchema {
        location: String,
        found: i64,
        supported: i64,
    },

    #[error("{location}: invalid ledger location: {detail}")]
    InvalidLocation { location: String, detail: String },

    #[error("{location}: {op}: {source}")]
    Io {
        location: String,
        op: &'static str,
        #[source]
        source: Arc<std::io::Error>,
    },

    #[error("{location}: sqlite {op}: {source}")]
    Sqlite {
        location: String,
        op: &'static str,
        #[source]
        source: Arc<rusqlite::Error>,
    },

    #[error("{location}: postgres {op}: {source}")]
    Postgres {
        location: String,
        op: &'static str,
        #[source]
        source: Arc<tokio_postgres::Error>,
    },

    #[error("{location}: stored event seq {seq}: field {field}: {detail}")]
    CorruptRow {
        location: String,
        seq: i64,
        field: &'static str,
        detail: String,
    },

    #[error("{location}: the hash chain is broken at seq {seq} ({reason}); refusing to prune")]
    ChainBroken {
        location: String,
        seq: u64,
        reason: String,
    },

    #[error("invalid event: field {field}: {detail}")]
    InvalidEvent { field: &'static str, detail: String },

    #[error("{location}: the ledger writer has stopped; the event was not recorded")]
    WriterStopped { location: String },

    #[error("export to JSON Lines: {source}")]
    Export {
        #[source]
        source: Arc<std::io::Error>,
    },
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

impl LedgerError {
    pub(crate) fn sqlite(location: &str, op: &'static str, source: rusqlite::Error) -> Self {
        Self::Sqlite {
            location: location.to_string(),
            op,
            source: Arc::new(source),
        }
    }

    pub(crate) fn postgres(
        location: &str,
        op: &'static str,
        source: tokio_postgres::Error,
    ) -> Self {
        Self::Postgres {
            location: location.to_string(),
            op,
            source: Arc::new(source),
        }
    }

    pub(crate) fn io(location: &str, op: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            location: location.to_string(),
            op,
            source: Arc::new(source),
        }
    }
}
