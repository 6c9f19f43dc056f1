//! The access log: one line per request (but the probes'), written inside the server span with the ids that find
//! its trace.
//!
//! The line carries its own fields rather than the span's: formatting every span's fields for the log would cost
//! more than the request itself.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

use super::{REQUEST_ID, method_name, trace::current_ids};

/// The target of the access log lines: exported as log records only when the request is traced (see `telemetry`).
pub const TARGET: &str = "visit_counter::request";

pub(super) async fn write(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(request).await;
    let (trace_id, span_id) = current_ids().unzip();
    tracing::info!(
        target: TARGET,
        method,
        route,
        status = response.status().as_u16(),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        trace_id,
        span_id,
        request_id,
        "request completed"
    );
    response
}
