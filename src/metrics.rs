//! Prometheus metrics: the recorder behind the `metrics` facade, what each name means, and the `/metrics` endpoint,
//! served on `METRICS_PORT` only so the public port (and NGINX) never exposes it.
//!
//! - HTTP: `http_server_request_duration_seconds{method,route,status}` and `http_server_active_requests`
//!   (recorded by `middleware::metrics`); `route` is the matched route template or `unmatched`, never a raw path.
//! - Redis: `db_client_operation_duration_seconds`, `db_client_operation_errors_total{error_type}`,
//!   `db_client_connections{state}`, `db_client_connection_wait_time_seconds` (recorded by `store`).
//! - The counter: `visits` (the highest value this replica's INCRs returned); `visits_build_info{version}`.
//! - Telemetry itself: `otel_{spans,logs}_dropped_total{reason}`, `otel_{spans,logs}_exported_total` (recorded by
//!   `telemetry::export`).
//! - The process: CPU, resident memory, open fds, threads, start time (metrics-process, collected at each scrape).
//!
//! The names themselves are in [`names`], the one place that spells them.

pub mod names;

use std::time::Duration;

use axum::{Router, extract::State, routing::get};
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{startup::StartupError, store::Store};

/// Buckets for a service whose p99 is a few milliseconds, up to the request timeout's range.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Install the global recorder and start its upkeep (histogram compaction), which the exporter does not do itself.
pub fn install() -> Result<PrometheusHandle, StartupError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .map_err(|e| StartupError::Metrics(e.to_string()))?
        .install_recorder()
        .map_err(|e| StartupError::Metrics(e.to_string()))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    describe();
    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// The `# HELP` of every name (the exporter prints it only for names that have a series).
fn describe() {
    use names::*;
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the running build.");
    describe_gauge!(
        VISITS,
        "The highest counter value this replica's INCRs returned (not lowered if the key is reset; a restart resets it)."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP requests by method, route template and status code."
    );
    describe_gauge!(HTTP_ACTIVE_REQUESTS, "HTTP requests being served right now.");
    describe_histogram!(DB_OPERATION_DURATION, Unit::Seconds, "Duration of Redis commands.");
    describe_counter!(DB_OPERATION_ERRORS, "Failed Redis commands by error_type: timeout, connection or other.");
    describe_gauge!(DB_CONNECTIONS, "Pooled Redis connections by state: idle or used.");
    describe_histogram!(DB_CONNECTION_WAIT, Unit::Seconds, "Time spent waiting for a pooled Redis connection.");
    let dropped = "that were never exported: reason=queue_full (export queue at capacity) or export_failed.";
    for (counters, items) in [(SPANS, "Spans"), (LOGS, "Log records")] {
        describe_counter!(counters.dropped, format!("{items} {dropped}"));
        describe_counter!(counters.exported, format!("{items} the Collector accepted."));
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Store,
    process: metrics_process::Collector,
}

/// The metrics port's router: `GET /metrics` in the Prometheus text format.
pub fn router(handle: PrometheusHandle, store: Store) -> Router {
    let process = metrics_process::Collector::default();
    process.describe();
    Router::new().route("/metrics", get(render)).with_state(Scrape { handle, store, process })
}

async fn render(State(scrape): State<Scrape>) -> String {
    scrape.process.collect();
    scrape.store.record_pool_state();
    scrape.handle.render()
}
