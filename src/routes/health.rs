//! Probes. `/healthz` (liveness) does no I/O: it answers while the process serves. `/readyz` (readiness) answers 200
//! only when Redis replies to PING within `READY_TIMEOUT_MS`. Their bodies never carry internal error text.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{error::AppError, state::AppState};

pub(super) async fn live() -> Response {
    (StatusCode::OK, "ok").into_response()
}

pub(super) async fn ready(State(state): State<AppState>) -> Response {
    match state.store.ping(state.ready_timeout).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response(),
        Err(err) => {
            tracing::debug!(error = %err, "not ready");
            let reason = match err {
                AppError::RedisTimeout(t) => format!("redis did not answer PING within {} ms", t.as_millis()),
                AppError::RedisUnreachable(_) => "redis is unreachable".to_owned(),
                _ => "redis refused PING".to_owned(),
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": reason })))
                .into_response()
        }
    }
}
