//! The public HTTP surface: routes, the 404 fallback and the middleware stack around them.
//!
//! `/metrics` is not here on purpose: it lives on its own port (see `metrics`), so NGINX can never expose it.

mod count;
mod health;
mod home;
mod pages;

use std::time::Duration;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{error::log_errors, metrics, state::AppState, telemetry};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application's router. `request_timeout` bounds a whole request (503 past it); `port` is the public port, for
/// the server spans.
pub fn router(state: AppState, request_timeout: Duration, port: u16) -> Router {
    Router::new()
        .route("/", get(home::show))
        // An explicit HEAD route: axum would otherwise run the GET handler for HEAD, and HEAD must not count.
        .route("/count", get(count::increment).head(count::peek))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/assets/style.css", get(pages::stylesheet))
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                // Keep an incoming X-Request-Id (NGINX sets one) or make one, and echo it in the response.
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                // Outside the timeout, so requests cut short are measured too.
                .layer(middleware::from_fn(metrics::http::track))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::http::ServerSpan { port })
                        .on_request(())
                        .on_response(())
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn(telemetry::http::observe))
                .layer(middleware::map_response(retry_after))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, request_timeout))
                .layer(middleware::from_fn(log_errors)),
        )
        .with_state(state)
}

/// Responses that report or cause a side effect (or a live state) must never be replayed by a cache.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Every 503 tells the client when to retry, including the whole-request timeout's own answer.
async fn retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        let headers = response.headers_mut();
        headers.entry(header::RETRY_AFTER).or_insert(HeaderValue::from(crate::error::RETRY_AFTER_SECS));
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "Not found. Try / or /count.\n")
}
