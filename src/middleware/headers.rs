//! The response headers the edge adds, written here and nowhere else: `Retry-After` on every 503 and
//! `Cache-Control: no-store` on every answer a cache must never replay — errors, 503s, and the routes that cause a side
//! effect or report a live state, which mark themselves with [`no_store`].

use std::sync::Arc;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::AppError;

/// Seconds a client should wait before retrying when Redis is unavailable.
const RETRY_AFTER_SECS: u32 = 1;

const NO_STORE: &str = "no-store";

/// For the routes whose answers report or cause a side effect or a live state (`/count`, the probes). Put on a
/// `MethodRouter` with `route_layer`, so its 405s are left alone.
pub fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE))
}

/// On every response: a 503 (a handler's or the timeout's) says when to retry, and no error answer is cached.
pub(super) async fn set(mut response: Response) -> Response {
    let unavailable = response.status() == StatusCode::SERVICE_UNAVAILABLE;
    let failed = unavailable || response.extensions().get::<Arc<AppError>>().is_some();
    let headers = response.headers_mut();
    if unavailable {
        headers.entry(header::RETRY_AFTER).or_insert(HeaderValue::from(RETRY_AFTER_SECS));
    }
    if failed {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static(NO_STORE));
    }
    response
}
