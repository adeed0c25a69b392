//! Integration tests of the ledger: one test binary, modules by concern.
//! The same API cases run against SQLite and against a real PostgreSQL that
//! the PostgreSQL test starts itself.

mod cases;
mod crash;
mod files;
mod postgres;
mod sqlite;
mod support;
