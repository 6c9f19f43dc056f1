//! The native twin of docker-compose.yml (`harness::stack`: Redis with ACL users, replicas, NGINX from the shipped
//! templates, and with its monitoring the exporters and Prometheus on the shipped config) on loopback ports, and the
//! pages in headless Chromium through it. Needs what scripts/test.sh installs: redis-server, nginx, envsubst, curl,
//! openssl, prometheus/promtool, the Redis and NGINX exporters, chromium.

mod browser;
mod chaos;
mod dashboard;
mod edge;
// The app fixtures and OTLP readers tests/api uses, and the shipped-file readers tests/policy uses: shared, not copied;
// this binary uses part of each.
#[allow(dead_code)]
#[path = "../common/helpers.rs"]
mod helpers;
mod metrics_lint;
#[allow(dead_code)]
#[path = "../common/otlp.rs"]
mod otlp;
mod prometheus_api;
mod prometheus_twin;
mod redis_config;
#[allow(dead_code)]
#[path = "../common/shipped.rs"]
mod shipped;
mod stack;
mod stack_cli;
mod stack_failover;
