//! `GET /count` increments the counter once (a single Redis `INCR`) and shows the new value; `HEAD /count` only
//! describes that response and never counts.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::pages;
use crate::{error::AppError, format::Format, state::AppState};

pub(super) async fn increment(State(state): State<AppState>, format: Format) -> Result<Response, AppError> {
    let count = state.store.incr().await?;
    Ok(match format {
        Format::Text => format!("Visit count: {count}").into_response(),
        Format::Json => Json(json!({ "count": count, "served_by": &*state.replica })).into_response(),
        Format::Html => Html(pages::count(count, &state.replica)).into_response(),
    })
}

/// Headers of `GET /count` (status, content type), without touching Redis.
pub(super) async fn peek(format: Format) -> Response {
    let content_type = match format {
        Format::Text => "text/plain; charset=utf-8",
        Format::Json => "application/json",
        Format::Html => "text/html; charset=utf-8",
    };
    ([(header::CONTENT_TYPE, content_type)]).into_response()
}
