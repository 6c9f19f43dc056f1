//! The public HTTP surface: the routes, the 404 fallback, and the probes as a router of their own (mounted outside
//! the trace and the log by `middleware`, which wraps both).
//!
//! `/metrics` is not here on purpose: it lives on its own port (see `metrics`), so NGINX can never expose it.

mod count;
mod health;
mod home;
mod pages;

use axum::{Router, http::StatusCode, response::IntoResponse, routing::get};

use crate::{
    middleware::{self, Edge, no_store},
    state::AppState,
};

/// The application's router, wrapped in the request edge ([`middleware::stack`]).
pub fn router(state: AppState, edge: &Edge) -> Router {
    let routes = Router::new()
        .route("/", get(home::show))
        // An explicit HEAD route: axum would otherwise run the GET handler for HEAD, and HEAD must not count.
        .route("/count", get(count::increment).head(count::peek).route_layer(no_store()))
        .route("/assets/style.css", get(pages::stylesheet))
        .fallback(not_found);
    let probes = Router::new()
        .route("/healthz", get(health::live).route_layer(no_store()))
        .route("/readyz", get(health::ready).route_layer(no_store()));
    middleware::stack(routes, probes, edge).with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "Not found. Try / or /count.\n")
}
