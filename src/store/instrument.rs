//! What the telemetry sees of the store: a client span around each counted command (only inside a traced request),
//! its duration and failures as metrics, the `visits` gauge, and the pool's connection counts.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Instant,
};

use bb8_redis::bb8;
use tracing::{Instrument, Span, field::Empty};

use crate::{
    config::RedisConfig,
    error::AppError,
    metrics::names::{DB_CONNECTIONS, DB_OPERATION_DURATION, DB_OPERATION_ERRORS, VISITS},
};

/// `server.address`, `server.port` and `db.namespace` of the client spans.
#[derive(Debug)]
pub(super) struct Peer {
    host: String,
    port: i64,
    db: String,
}

impl Peer {
    pub(super) fn of(config: &RedisConfig) -> Self {
        Self { host: config.redis_host.clone(), port: i64::from(config.redis_port), db: config.redis_db.to_string() }
    }
}

/// Run `command` (named `operation`, e.g. `INCR`) in a client span, timed in `db_client_operation_duration_seconds`
/// and, when it fails, counted in `db_client_operation_errors_total` and marked on the span.
pub(super) async fn command<T>(
    peer: &Peer,
    operation: &'static str,
    command: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let span = client_span(peer, operation);
    let timed = async {
        let start = Instant::now();
        let result = command.await;
        metrics::histogram!(DB_OPERATION_DURATION, "db_operation_name" => operation).record(start.elapsed());
        if let Err(err) = &result {
            metrics::counter!(DB_OPERATION_ERRORS, "db_operation_name" => operation, "error_type" => error_type(err))
                .increment(1);
        }
        result
    };
    let result = timed.instrument(span.clone()).await;
    if let Err(err) = &result {
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_description", tracing::field::display(err));
        span.record("error.type", error_type(err));
    }
    result
}

/// A client span only inside a traced request: an unsampled request has none (see `telemetry::sampling`). Its
/// exported name is `otel.name`, the operation.
fn client_span(peer: &Peer, operation: &'static str) -> Span {
    if Span::current().is_none() {
        return Span::none();
    }
    tracing::info_span!(
        "redis",
        otel.name = operation,
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = "redis",
        db.operation.name = operation,
        db.namespace = peer.db.as_str(),
        server.address = peer.host.as_str(),
        server.port = peer.port,
        error.type = Empty,
        otel.status_description = Empty,
    )
}

/// The `error_type` label and span attribute of a failure: `timeout`, `connection` or `other`.
fn error_type(err: &AppError) -> &'static str {
    match err {
        AppError::RedisTimeout(_) => "timeout",
        AppError::RedisUnreachable(_) => "connection",
        AppError::Redis(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => "connection",
        _ => "other",
    }
}

/// The highest count this replica has seen, published as `visits`: never lowered when replies race.
#[derive(Debug, Clone, Default)]
pub(super) struct Highest(Arc<AtomicI64>);

impl Highest {
    pub(super) fn saw(&self, count: i64) {
        let highest = self.0.fetch_max(count, Ordering::Relaxed).max(count);
        metrics::gauge!(VISITS).set(highest as f64);
    }
}

/// Publish the pool's connection counts.
pub(super) fn pool_state(state: &bb8::State) {
    let used = state.connections.saturating_sub(state.idle_connections);
    metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(state.idle_connections));
    metrics::gauge!(DB_CONNECTIONS, "state" => "used").set(f64::from(used));
}
