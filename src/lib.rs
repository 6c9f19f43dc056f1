//! visit-counter: a visit counter on axum and Redis, built to be observed.
//!
//! `GET /count` increments a Redis counter with one `INCR` and answers `Visit count: N` (or HTML, or JSON, as the
//! `Accept` header asks). Redis trouble never makes a request hang: it answers 503 with `Retry-After` within
//! `REDIS_TIMEOUT_MS`, and the service recovers by itself when Redis is back.
//!
//! # Layout
//! In the order a request meets them:
//! - [`config`]: typed configuration from the environment, validated once; [`startup`]: binds the listeners, wires
//!   the state and routes, runs until a shutdown signal and drains, and [`startup::StartupError`], every way start-up
//!   can fail; [`shutdown`]: the signals that stop the process.
//! - [`middleware`]: the request edge, one layer stack — request ids, request metrics, `Retry-After`/`no-store`, the
//!   server span, the access log line, the timeout, error logging. Probes are mounted outside the trace and the log.
//! - [`routes`]: the public HTTP surface (`/`, `/count`, `/healthz`, `/readyz`, the stylesheet); [`state`]: what the
//!   handlers share.
//! - [`format`](mod@format): which representation (text, HTML, JSON) a request's `Accept` header gets.
//! - [`store`]: the counter in Redis behind a bb8 pool with bounded waits, and the client span and metrics around it.
//! - [`error`]: the one error enum of request handling and how each variant answers.
//! - [`telemetry`]: the tracing pipeline (stdout logs; spans and log records over OTLP) and its guard;
//!   [`metrics`]: Prometheus on its own port, every metric name in [`metrics::names`].
//! - [`healthcheck`]: the container health probe subcommand.
#![warn(clippy::too_many_lines)]

pub mod config;
pub mod error;
pub mod format;
pub mod healthcheck;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
