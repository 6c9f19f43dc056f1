//! Logging the [`AppError`] a handler answered with: its response carries the error in its extensions (see
//! `error`), and this layer, inside the request's span, logs it with its cause and the ids that find the trace.

use std::sync::Arc;

use axum::{extract::Request, middleware::Next, response::Response};

use super::trace::current_ids;
use crate::error::AppError;

/// 5xx at ERROR with the source chain's first cause; refusals (406) at INFO.
pub(super) async fn log(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(err) = response.extensions().get::<Arc<AppError>>() {
        let cause = std::error::Error::source(err.as_ref()).map(ToString::to_string);
        let (trace_id, span_id) = current_ids().unzip();
        if err.status().is_server_error() {
            tracing::error!(error = %err, cause, trace_id, span_id, "request failed");
        } else {
            tracing::info!(error = %err, trace_id, span_id, "request refused");
        }
    }
    response
}
