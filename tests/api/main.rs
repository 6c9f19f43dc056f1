//! Black-box tests of the app alone: the real `visit-counter` binary against a real `redis-server`, both started per
//! test by the harness crate (which `cargo xtask` uses too). `redis-server` (and `redis-cli`) is the only program
//! these tests run; NGINX, Prometheus and the browser are tests/twin, static checks of the shipped files tests/policy.

mod config;
mod contract;
mod counting;
mod drain;
#[path = "../common/helpers.rs"]
mod helpers;
mod logs;
mod metrics;
#[path = "../common/otlp.rs"]
mod otlp;
mod redis_config;
mod resilience;
mod telemetry;
