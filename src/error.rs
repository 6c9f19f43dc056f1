//! The one error type of request handling, and how each variant answers.
//!
//! Responses never carry internal error text: `into_response` writes a fixed, client-safe body and puts the error
//! itself into the response extensions, where [`log_errors`] (a middleware inside the trace layer) logs it with its
//! cause. `into_response` has no side effects.

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use bb8_redis::redis::RedisError;

/// Seconds a client should wait before retrying when Redis is unavailable.
pub const RETRY_AFTER_SECS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 503 + `Retry-After`: Redis did not answer (connection and command) within `REDIS_TIMEOUT_MS`.
    #[error("redis did not answer within {0:?}")]
    RedisTimeout(std::time::Duration),
    /// 503 + `Retry-After`: no connection to Redis could be made; the cause is the latest connection error.
    #[error("redis is unreachable")]
    RedisUnreachable(#[source] Unreachable),
    /// 503 + `Retry-After`: Redis answered with an error, or the connection failed.
    #[error("redis command failed")]
    Redis(#[source] RedisError),
    /// 406: the `Accept` header names no format this route can produce.
    #[error("no acceptable representation for Accept: {0}")]
    NotAcceptable(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RedisTimeout(_) | Self::RedisUnreachable(_) | Self::Redis(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        }
    }

    fn public_message(&self) -> &'static str {
        match self {
            Self::RedisTimeout(_) | Self::RedisUnreachable(_) | Self::Redis(_) => {
                "The counter is unavailable right now; retry in a second.\n"
            }
            Self::NotAcceptable(_) => {
                "Not acceptable: this resource is available as text/plain, text/html or application/json.\n"
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, self.public_message()).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Why Redis could not be reached (the text of the latest failed connection attempt).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// Log the [`AppError`] a handler returned, with its source chain, inside the request's span.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(err) = response.extensions().get::<Arc<AppError>>() {
        let cause = std::error::Error::source(err.as_ref()).map(ToString::to_string);
        let (trace_id, span_id) = crate::telemetry::http::current_ids().unzip();
        if err.status().is_server_error() {
            tracing::error!(error = %err, cause, trace_id, span_id, "request failed");
        } else {
            tracing::info!(error = %err, trace_id, span_id, "request refused");
        }
    }
    response
}
