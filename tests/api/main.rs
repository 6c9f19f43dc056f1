//! Black-box tests: the real `visit-counter` binary against a real `redis-server`, both started per test by the
//! process harness that `cargo xtask` uses too.

mod config;
mod contract;
mod counting;
mod drain;
mod helpers;
mod otlp;
mod resilience;
mod telemetry;
