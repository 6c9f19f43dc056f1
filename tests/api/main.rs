//! Black-box tests: the real `visit-counter` binary against a real `redis-server`, both started per test by the
//! process harness that `cargo xtask` uses too.

mod browser;
mod chaos;
mod collector_config;
mod compose_policy;
mod config;
mod contract;
mod counting;
mod dashboard;
mod drain;
mod edge;
mod grafana_config;
mod helpers;
mod k8s_policy;
mod logs;
mod loki_config;
mod metrics;
mod nginx_config;
mod otlp;
mod prometheus_api;
mod prometheus_rules;
mod prometheus_twin;
mod redis_config;
mod resilience;
mod stack;
mod stack_cli;
mod stack_failover;
mod telemetry;
