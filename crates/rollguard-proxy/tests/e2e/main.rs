//! End-to-end tests of the proxy: real sockets on 127.0.0.1, two demo
//! services (`rollguard-testbed`) behind a running proxy.

mod support;

mod failures;
mod lifecycle;
mod metrics;
mod routing;
mod shadow;
