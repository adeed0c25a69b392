//! Opening a SQLite ledger file: refuse what is not ours, create what is new.
//!
//! Order of checks, before anything is written:
//!
//! 1. missing or zero-length file: create a new ledger (inside `BEGIN
//!    IMMEDIATE`, so two processes creating it at once end with one schema);
//! 2. first 16 bytes not `SQLite format 3\0`: [`LedgerError::NotSqlite`];
//! 3. opened read-only: `ledger_meta` missing, wrong application marker or
//!    wrong `application_id`: [`LedgerError::Foreign`]; newer
//!    `schema_version`: [`LedgerError::NewerSchema`];
//! 4. only then opened read-write, WAL mode, `synchronous = FULL`.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{LedgerError, Result};
use crate::schema::{self, SQLITE_APPLICATION_ID};

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a connection waits for another one holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache per connection, in KiB (negative `cache_size` means KiB).
const CACHE_KIB: i64 = -65_536;

/// WAL pages between automatic checkpoints.
const CHECKPOINT_PAGES: i64 = 16_384;

/// Opens the ledger at `path` read-write, creating it if absent or empty.
pub(crate) fn open_ledger(path: &str) -> Result<Connection> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(LedgerError::InvalidLocation {
                location: path.to_string(),
                detail: "is a directory, expected a ledger file".into(),
            });
        }
        Ok(meta) if meta.len() == 0 => create(path)?,
        Ok(_) => check_header(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
        Err(e) => return Err(LedgerError::io(path, "reading file metadata", e)),
    }
    check_existing(path)?;
    connect(path)
}

/// A read-write connection with the ledger's pragmas.
pub(crate) fn connect(path: &str) -> Result<Connection> {
    let sql = |op| move |e| LedgerError::sqlite(path, op, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql("opening"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting busy timeout"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql("enabling WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::InvalidLocation {
            location: path.to_string(),
            detail: format!("cannot use WAL journal mode here (got {mode:?})"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("setting synchronous=FULL"))?;
    // Group commits touch many index pages; a bigger cache and fewer
    // checkpoints (each one writes and fsyncs the main file) keep appends
    // cheap. The WAL is checkpointed every CHECKPOINT_PAGES pages (~64 MiB).
    conn.pragma_update(None, "cache_size", CACHE_KIB)
        .map_err(sql("setting cache_size"))?;
    conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)
        .map_err(sql("setting wal_autocheckpoint"))?;
    Ok(conn)
}

fn check_header(path: &str) -> Result<()> {
    let mut header = [0u8; 16];
    let mut file =
        std::fs::File::open(path).map_err(|e| LedgerError::io(path, "opening ledger file", e))?;
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(LedgerError::io(path, "reading ledger file header", e)),
        }
    }
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(LedgerError::NotSqlite {
            location: path.to_string(),
        });
    }
    Ok(())
}

/// Checks markers and version through a read-only connection.
fn check_existing(path: &str) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify(path, "opening read-only", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(path, "setting busy timeout", e))?;
    let has_meta: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ledger_meta'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| classify(path, "reading the schema", e))?;
    if has_meta.is_none() {
        return Err(LedgerError::Foreign {
            location: path.to_string(),
            detail: "a SQLite database without a ledger_meta table".into(),
        });
    }
    let meta = |key: &str| -> Result<Option<String>> {
        conn.query_row("SELECT value FROM ledger_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| classify(path, "reading ledger_meta", e))
    };
    schema::check_meta(path, meta("application")?, meta("schema_version")?)?;
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| classify(path, "reading application_id", e))?;
    if app_id != SQLITE_APPLICATION_ID {
        return Err(LedgerError::Foreign {
            location: path.to_string(),
            detail: format!("application_id is {app_id:#x}, expected {SQLITE_APPLICATION_ID:#x}"),
        });
    }
    Ok(())
}

/// Creates the schema in a new (absent or empty) file.
fn create(path: &str) -> Result<()> {
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| LedgerError::io(path, "creating the ledger's directory", e))?;
    }
    let sql = |op| move |e| LedgerError::sqlite(path, op, e);
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql("creating"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting busy timeout"))?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql("starting the create transaction"))?;
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(sql("reading the schema"))?;
    if tables == 0 {
        tx.execute_batch(&schema::create_tables_sql("INTEGER"))
            .map_err(sql("creating tables"))?;
        tx.pragma_update(None, "application_id", SQLITE_APPLICATION_ID)
            .map_err(sql("setting application_id"))?;
        tx.pragma_update(None, "user_version", schema::SCHEMA_VERSION)
            .map_err(sql("setting user_version"))?;
    }
    tx.commit().map_err(sql("committing the new schema"))?;
    Ok(())
}

/// Maps "not a database" errors to [`LedgerError::NotSqlite`].
fn classify(path: &str, op: &'static str, e: rusqlite::Error) -> LedgerError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            LedgerError::NotSqlite {
                location: path.to_string(),
            }
        }
        _ => LedgerError::sqlite(path, op, e),
    }
}
