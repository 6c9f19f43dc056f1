//! What `curl`, browsers and API clients see on `/`, `/count` and elsewhere.

use reqwest::{StatusCode, header};

use crate::helpers::spawn_app;

fn content_type(response: &reqwest::Response) -> String {
    response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_gets_plain_text_like_the_original() {
    let t = spawn_app().await;

    for accept in [None, Some("*/*")] {
        let mut request = t.http.get(t.app.url("/"));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let home = request.send().await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        assert!(content_type(&home).starts_with("text/plain"));
        assert!(home.text().await.unwrap().contains("/count"));
    }

    let first = t.get_as("/count", "*/*").await;
    assert!(content_type(&first).starts_with("text/plain"));
    assert_eq!(first.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(first.text().await.unwrap(), "Visit count: 1");
    assert_eq!(t.get("/count").await.text().await.unwrap(), "Visit count: 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_get_html_with_the_apps_own_stylesheet() {
    let t = spawn_app().await;
    let accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    let home = t.get_as("/", accept).await;
    assert!(content_type(&home).starts_with("text/html"));
    let home = home.text().await.unwrap();
    assert!(home.contains(r#"<html lang="en">"#) && home.contains("<title>"));
    assert!(home.contains(r#"href="/count""#));
    assert!(!home.contains("http://") && !home.contains("https://"), "no external assets");

    let count = t.get_as("/count", accept).await.text().await.unwrap();
    assert!(count.contains("<output>1</output>"), "{count}");
    assert!(count.contains(&format!("127.0.0.1:{}", t.app.port)) || count.contains(&format!(":{}", t.app.port)));

    let css = t.get("/assets/style.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(content_type(&css).starts_with("text/css"));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_clients_get_json() {
    let t = spawn_app().await;

    let home: serde_json::Value = t.get_as("/", "application/json").await.json().await.unwrap();
    assert_eq!(home["links"]["count"], "/count");

    let count = t.get_as("/count", "application/json").await;
    assert!(content_type(&count).starts_with("application/json"));
    let count: serde_json::Value = count.json().await.unwrap();
    assert_eq!(count["count"], 1);
    assert!(count["served_by"].as_str().unwrap().ends_with(&format!(":{}", t.app.port)));
}

#[tokio::test(flavor = "multi_thread")]
async fn head_count_does_not_count() {
    let t = spawn_app().await;
    t.get("/count").await;

    let head = t.http.head(t.app.url("/count")).send().await.unwrap();

    assert_eq!(head.status(), StatusCode::OK);
    assert!(content_type(&head).starts_with("text/plain"));
    assert_eq!(t.counter(), 1);
    assert_eq!(t.get("/count").await.text().await.unwrap(), "Visit count: 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let t = spawn_app().await;

    assert_eq!(t.get("/nope").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.get("/count/../../etc/passwd").await.status(), StatusCode::NOT_FOUND);
    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let response = t.http.request(method, t.app.url("/count")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let allow = response.headers()[header::ALLOW].to_str().unwrap().to_owned();
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    }
    assert_eq!(t.counter(), 0, "refused requests must not count");
}

#[tokio::test(flavor = "multi_thread")]
async fn unacceptable_formats_get_406_and_do_not_count() {
    let t = spawn_app().await;

    let response = t.get_as("/count", "image/png").await;

    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(t.counter(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_kept_or_made() {
    let t = spawn_app().await;

    let given = t.http.get(t.app.url("/")).header("x-request-id", "abc-123").send().await.unwrap();
    let made = t.get("/").await;

    assert_eq!(given.headers()["x-request-id"], "abc-123");
    assert!(!made.headers()["x-request-id"].is_empty());
}
