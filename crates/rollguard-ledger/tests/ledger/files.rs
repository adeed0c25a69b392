//! Files that are not (current) rollguard ledgers are refused by name and
//! left byte-for-byte untouched.

use std::path::Path;

use rollguard_ledger::{Ledger, LedgerError};

fn sidecars_absent(path: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        assert!(!Path::new(&side).exists(), "{suffix} file was created");
    }
}

#[tokio::test]
async fn foreign_sqlite_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("create foreign db");
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'x');")
            .expect("foreign schema");
    }
    let before = std::fs::read(&path).expect("read");
    let location = path.to_str().expect("utf-8");
    let err = Ledger::open(location).await.err().expect("must refuse");
    assert!(matches!(err, LedgerError::Foreign { .. }), "{err:?}");
    assert!(
        err.to_string().contains(location),
        "error names the file: {err}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), before, "file changed");
    sidecars_absent(&path);
}

#[tokio::test]
async fn sqlite_database_with_a_foreign_marker_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch(
            "CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO ledger_meta VALUES ('application', 'someone-else'), ('schema_version', '1');",
        )
        .expect("schema");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Ledger::open(path.to_str().expect("utf-8"))
        .await
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("someone-else"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[tokio::test]
async fn corrupt_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        (
            "text.db",
            b"this is a plain text file, not a database\n".repeat(100),
        ),
        ("short.db", b"SQLite".to_vec()),
        // A valid header over garbage pages.
        ("garbage.db", {
            let mut b = b"SQLite format 3\0".to_vec();
            b.extend(std::iter::repeat_n(0xA5u8, 8192));
            b
        }),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let location = path.to_str().expect("utf-8");
        let err = Ledger::open(location).await.err().expect("must refuse");
        assert!(
            matches!(err, LedgerError::NotSqlite { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains(location), "{name}: {err}");
        assert_eq!(std::fs::read(&path).expect("read"), bytes, "{name} changed");
        sidecars_absent(&path);
    }
}

#[tokio::test]
async fn newer_schema_is_refused_without_migration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let location = path.to_str().expect("utf-8");
    let ledger = Ledger::open(location).await.expect("create");
    ledger
        .append(crate::support::event("r", "decision", 1))
        .await
        .expect("append");
    ledger.close().await.expect("close");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute(
            "UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .expect("bump version");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Ledger::open(location).await.err().expect("must refuse");
    match &err {
        LedgerError::NewerSchema { found, .. } => assert_eq!(*found, 99),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(err.to_string().contains(location), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "file changed");
}

#[tokio::test]
async fn empty_file_becomes_a_new_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dir/ledger.db");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, b"").expect("touch");
    let ledger = Ledger::open(path.to_str().expect("utf-8"))
        .await
        .expect("create in empty file");
    let e = ledger
        .append(crate::support::event("r", "decision", 1))
        .await
        .expect("append");
    assert_eq!(e.seq, 1);
}

#[tokio::test]
async fn directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Ledger::open(dir.path().to_str().expect("utf-8"))
        .await
        .err()
        .expect("must refuse");
    assert!(
        matches!(err, LedgerError::InvalidLocation { .. }),
        "{err:?}"
    );
}
