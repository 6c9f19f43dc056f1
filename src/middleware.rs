//! The request edge: everything that happens to a request around its handler, in one stack — request ids, metrics,
//! the response headers every answer gets, the server span, the access log line, the whole-request timeout and the
//! logging of handler errors.
//!
//! The probes (`/healthz`, `/readyz`) are a router of their own, mounted outside the trace and the log: orchestrators
//! call them every few seconds and they would drown the requests people look for. They are still measured, bounded
//! and given request ids.
//!
//! What is not here: the routes themselves (`routes`), the telemetry pipelines the spans and lines go to
//! (`telemetry`), the Prometheus recorder (`metrics`).

mod access_log;
mod errors;
mod headers;
mod metrics;
mod trace;

use std::time::Duration;

use axum::{
    Router,
    http::{HeaderName, StatusCode},
    middleware::{from_fn, map_response},
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use access_log::TARGET as ACCESS_LOG;
pub use headers::no_store;

use trace::method_name;

use crate::state::AppState;

/// Kept from the caller (NGINX sets one) or made here, echoed in the response, recorded on the span and the log line.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the edge needs to know of the server it runs in.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    /// Bounds a whole request; past it the client gets 503.
    pub request_timeout: Duration,
    /// The public port, for `server.port` on the server spans.
    pub port: u16,
}

/// Wrap `routes` in the whole stack and `probes` in all of it but the trace and the log.
///
/// The order, outermost first, and why:
/// 1. request id: set before anything reads it, echoed on every answer (timeouts and probes included);
/// 2. metrics: outside the timeout, so requests cut short are measured too;
/// 3. response headers: `Retry-After` on every 503 and `no-store` on every error, the timeout's own 503 included;
/// 4. (routes only) the server span, with the status recorded on it and named in `traceparent`; then the access log
///    line, inside the span so it carries its ids;
/// 5. the timeout: inside the span and the log line, so a request cut off is seen there with its 503;
/// 6. (routes only) error logging, innermost: the handler's error with its cause, in the request's span.
pub fn stack(routes: Router<AppState>, probes: Router<AppState>, edge: &Edge) -> Router<AppState> {
    let timeout = TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, edge.request_timeout);
    let traced = routes.layer(
        ServiceBuilder::new()
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(trace::ServerSpan { port: edge.port })
                    .on_request(())
                    .on_response(trace::RecordStatus)
                    .on_failure(()),
            )
            .layer(map_response(trace::traceparent))
            .layer(from_fn(access_log::write))
            .layer(timeout)
            .layer(from_fn(errors::log)),
    );
    traced.merge(probes.layer(timeout)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(from_fn(metrics::track))
            .layer(map_response(headers::set)),
    )
}
