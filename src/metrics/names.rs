//! Every metric name this service publishes, defined once. Dashboards, alert rules and tests name them too: renaming
//! one here is a breaking change for all of them.

// HTTP, recorded by `middleware::metrics`.
/// Histogram: duration of HTTP requests by `method`, `route` (the matched template or `unmatched`) and `status`.
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Gauge: HTTP requests being served, by `method` and `route`.
pub const HTTP_ACTIVE_REQUESTS: &str = "http_server_active_requests";

// Redis, recorded by `store`.
/// Histogram: duration of Redis commands by `db_operation_name`.
pub const DB_OPERATION_DURATION: &str = "db_client_operation_duration_seconds";
/// Counter: failed Redis commands by `db_operation_name` and `error_type` (`timeout`, `connection`, `other`).
pub const DB_OPERATION_ERRORS: &str = "db_client_operation_errors_total";
/// Gauge: pooled Redis connections by `state` (`idle`, `used`), published at each scrape.
pub const DB_CONNECTIONS: &str = "db_client_connections";
/// Histogram: time spent waiting for a pooled Redis connection, also when none came.
pub const DB_CONNECTION_WAIT: &str = "db_client_connection_wait_time_seconds";

// The service itself.
/// Gauge: the highest counter value this replica's INCRs returned; never lowered, reset by a restart.
pub const VISITS: &str = "visits";
/// Gauge: always 1, `version` names the build.
pub const BUILD_INFO: &str = "visits_build_info";

// Telemetry's own, recorded by `telemetry::export`, at zero from the start so that `rate()` sees the first drop.
/// The two counters of one export pipeline.
#[derive(Clone, Copy, Debug)]
pub struct ExportCounters {
    /// Items never exported, by `reason` (`queue_full`, `export_failed`).
    pub dropped: &'static str,
    /// Items the Collector accepted.
    pub exported: &'static str,
}

/// The span pipeline's counters.
pub const SPANS: ExportCounters =
    ExportCounters { dropped: "otel_spans_dropped_total", exported: "otel_spans_exported_total" };
/// The log pipeline's counters (records about a failing export are never exported themselves).
pub const LOGS: ExportCounters =
    ExportCounters { dropped: "otel_logs_dropped_total", exported: "otel_logs_exported_total" };
