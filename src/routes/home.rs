//! `GET /`: the welcome page, in the representation the client asked for.

use axum::{
    Json,
    response::{Html, IntoResponse, Response},
};
use serde_json::json;

use super::pages;
use crate::format::Format;

pub(super) const WELCOME: &str = "Welcome to the visit counter! Open /count to count your visit.";

pub(super) async fn show(format: Format) -> Response {
    match format {
        Format::Text => WELCOME.into_response(),
        Format::Json => Json(json!({ "message": WELCOME, "links": { "count": "/count" } })).into_response(),
        Format::Html => Html(pages::home()).into_response(),
    }
}
