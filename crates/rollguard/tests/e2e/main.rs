//! End-to-end tests of the `rollguard` binary (one test binary, several
//! modules, to save link time). Each test starts the real binary with its own
//! temp ledger against demo services on 127.0.0.1:0 and asserts outcomes,
//! exit codes and ledger contents, never timings.

mod bad_input;
mod demo_ledger;
mod interrupt;
mod outcomes;
mod support;
