//! End-to-end tests of the distributed control plane with real processes on
//! loopback: a controller and agents over mutual TLS, a partition through a
//! fault-injecting proxy, and leader failover on a real PostgreSQL.

mod agent_restart;
mod failover;
mod fault_proxy;
mod mtls_rollouts;
mod partition;
mod support;
