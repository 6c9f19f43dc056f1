//! The one error type of request handling, and how each variant answers.
//!
//! Responses never carry internal error text: `into_response` writes a fixed, client-safe body and puts the error
//! itself into the response extensions, where the request edge (`middleware`) logs it with its cause, inside the
//! trace, and adds `Retry-After` and `no-store`. `into_response` has no side effects.
//!
//! What is not here: why the process could not start (`startup::StartupError`).

use std::sync::Arc;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bb8_redis::redis::RedisError;

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
        let mut response = (self.status(), self.public_message()).into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Why Redis could not be reached (the text of the latest failed connection attempt).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);
