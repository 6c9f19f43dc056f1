//! The HTML pages: one small layout, the stylesheet served by the app itself (no external assets, no scripts), and
//! escaping for the one dynamic string we print.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

const STYLESHEET: &str = include_str!("style.css");

pub(super) async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
        .into_response()
}

pub(super) fn home() -> String {
    layout(
        "Visit counter",
        r#"<h1>Visit counter</h1>
    <p>Welcome! Every visit to <a href="/count">/count</a> adds one to a counter kept in Redis.</p>
    <p><a class="button" href="/count">Count my visit</a></p>"#,
    )
}

pub(super) fn count(count: i64, served_by: &str) -> String {
    let served_by = escape(served_by);
    layout(
        &format!("Visit count: {count}"),
        &format!(
            r#"<h1>Visit count</h1>
    <p class="count" aria-live="polite"><output>{count}</output></p>
    <p>Served by replica <code>{served_by}</code>.</p>
    <p><a class="button" href="/count">Count again</a> <a href="/">Home</a></p>"#
        ),
    )
}

fn layout(title: &str, main: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/assets/style.css">
</head>
<body>
  <main>
    {main}
  </main>
</body>
</html>
"#
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn replica_names_are_escaped() {
        let page = super::count(7, "<script>\"x\"&'");
        assert!(page.contains("&lt;script&gt;&quot;x&quot;&amp;&#39;"));
        assert!(!page.contains("<script>"));
    }
}
