//! Request metrics: duration by method, route template and status, and requests in flight.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

use super::method_name;
use crate::metrics::names::{HTTP_ACTIVE_REQUESTS, HTTP_REQUEST_DURATION};

/// The `route` label of requests that matched no route: one constant, so unknown paths add no series.
const UNMATCHED: &str = "unmatched";

pub(super) async fn track(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let _active = InFlight::start(metrics::gauge!(HTTP_ACTIVE_REQUESTS, "method" => method, "route" => route.clone()));
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_REQUEST_DURATION, "method" => method, "route" => route, "status" => status)
        .record(start.elapsed());
    response
}

/// Counts a request as in flight until dropped, also when the client goes away mid-request.
struct InFlight(metrics::Gauge);

impl InFlight {
    fn start(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
