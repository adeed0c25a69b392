//! Integration tests of rollguard-stats, one binary: simulated rollouts with
//! fixed seeds (type-I error, power, pass criterion), properties, and hand
//! worked sequences for the reference judges.

mod judges;
mod priors;
mod properties;
mod sim;
mod simulation;
