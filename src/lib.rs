//! visit-counter: a visit counter on axum and Redis, built to be observed.
//!
//! `GET /count` increments a Redis counter with one `INCR` and answers `Visit count: N` (or HTML, or JSON, as the
//! `Accept` header asks). Redis trouble never makes a request hang: it answers 503 with `Retry-After` within
//! `REDIS_TIMEOUT_MS`, and the service recovers by itself when Redis is back.
//!
//! # Layout
//! - [`config`]: typed configuration from the environment, validated once.
//! - [`startup`]: binds the listeners, wires the state and routes, runs until a shutdown signal and drains.
//! - [`routes`]: the public HTTP surface (`/`, `/count`, `/healthz`, `/readyz`, the stylesheet).
//! - [`negotiate`]: which representation (text, HTML, JSON) a request gets.
//! - [`store`]: the counter in Redis behind a bb8 pool with bounded waits.
//! - [`error`]: the one error enum and how it answers.
//! - [`telemetry`]: the tracing pipeline (stdout logs; spans and log records over OTLP) and its guard; [`metrics`]: Prometheus on its own port.
//! - [`shutdown`]: the signals that stop the process; [`healthcheck`]: the container health probe subcommand.

pub mod config;
pub mod error;
pub mod healthcheck;
pub mod metrics;
pub mod negotiate;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
