//! The router in process, through tower's `oneshot`: no binary, no listener, no Redis. What a request gets from the
//! routes and the request edge alone — content negotiation, the fallbacks, HEAD, and the headers every answer
//! carries. The Redis pool points at a loopback port nothing listens on, so the routes that need Redis answer 503.

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use clap::Parser;
use http_body_util::BodyExt;
use tower::ServiceExt;
use visit_counter::{config::Cli, middleware::Edge, routes, state::AppState, store::Store};

const FIREFOX: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The application's router, with a store whose Redis never answers (port 9 on loopback: refused at once).
fn app() -> Router {
    let cli = Cli::try_parse_from(["visit-counter", "--redis-host", "127.0.0.1", "--redis-port", "9"]).unwrap();
    let store = Store::new(&cli.config.redis).expect("a pool that connects lazily");
    let state = AppState { store, replica: "test:1".into(), ready_timeout: Duration::from_millis(200) };
    routes::router(state, &Edge { request_timeout: Duration::from_secs(2), port: 8080 })
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(&name).map_or("", |v| v.to_str().unwrap())
    }
}

async fn send(method: Method, path: &str, accept: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let response = app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Answer { status: parts.status, headers: parts.headers, body }
}

async fn get(path: &str, accept: Option<&str>) -> Answer {
    send(Method::GET, path, accept).await
}

#[tokio::test]
async fn the_home_page_is_plain_text_for_curl_html_for_browsers_and_json_for_api_clients() {
    for accept in [None, Some("*/*"), Some("")] {
        let text = get("/", accept).await;
        assert_eq!(text.status, StatusCode::OK, "{accept:?}");
        assert!(text.header(header::CONTENT_TYPE).starts_with("text/plain"), "{accept:?}");
        assert_eq!(text.body, "Welcome to the visit counter! Open /count to count your visit.");
    }

    let html = get("/", Some(FIREFOX)).await;
    assert!(html.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(html.body.contains(r#"<html lang="en">"#) && html.body.contains(r#"href="/count""#));

    let json = get("/", Some("application/json, text/plain, */*")).await;
    assert!(json.header(header::CONTENT_TYPE).starts_with("application/json"));
    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(json["links"]["count"], "/count");

    // The home page is cacheable; only what causes or reports a side effect is not.
    assert_eq!(get("/", None).await.header(header::CACHE_CONTROL), "");
}

#[tokio::test]
async fn quality_values_and_specificity_decide_the_format() {
    for (accept, content_type) in [
        ("text/plain;q=0.1, text/html", "text/html"),
        ("text/*, text/plain;q=0", "text/html"),
        ("*/*;q=0.5, application/json;q=0.6", "application/json"),
        ("garbage", "text/plain"),
    ] {
        let answer = get("/", Some(accept)).await;
        assert!(
            answer.header(header::CONTENT_TYPE).starts_with(content_type),
            "{accept}: {}",
            answer.header(header::CONTENT_TYPE)
        );
    }
}

#[tokio::test]
async fn an_accept_header_the_service_cannot_serve_gets_406_and_never_reaches_redis() {
    for path in ["/", "/count"] {
        for accept in ["image/png", "*/*;q=0"] {
            let answer = get(path, Some(accept)).await;
            assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE, "{path} {accept}");
            assert!(answer.body.contains("text/plain, text/html or application/json"), "{}", answer.body);
            assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
            assert_eq!(answer.header(header::RETRY_AFTER), "", "only 503s say when to retry");
        }
    }
}

#[tokio::test]
async fn unknown_paths_get_the_404_fallback() {
    let answer = get("/nope", None).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body, "Not found. Try / or /count.\n");
    assert_eq!(answer.header(header::CACHE_CONTROL), "");
}

#[tokio::test]
async fn wrong_methods_get_405_with_allow() {
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let answer = send(method.clone(), "/count", None).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let allow = answer.header(header::ALLOW);
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
        assert_eq!(answer.header(header::CACHE_CONTROL), "", "a 405 is not the route's answer");
    }
    assert_eq!(send(Method::POST, "/healthz", None).await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn head_count_describes_get_count_without_touching_redis() {
    for (accept, content_type) in
        [(None, "text/plain"), (Some(FIREFOX), "text/html"), (Some("application/json"), "application/json")]
    {
        let answer = send(Method::HEAD, "/count", accept).await;
        // Redis is unreachable: a HEAD that counted would be a 503.
        assert_eq!(answer.status, StatusCode::OK, "{accept:?}");
        assert!(answer.header(header::CONTENT_TYPE).starts_with(content_type), "{accept:?}");
        assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(answer.body, "");
    }
    let home = send(Method::HEAD, "/", None).await;
    assert_eq!((home.status, home.body.as_str()), (StatusCode::OK, ""), "HEAD / runs GET / without its body");
}

#[tokio::test]
async fn with_redis_unreachable_count_and_readyz_answer_503_with_retry_after_and_healthz_stays_200() {
    let count = get("/count", None).await;
    assert_eq!(count.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((count.header(header::RETRY_AFTER), count.header(header::CACHE_CONTROL)), ("1", "no-store"));
    assert_eq!(count.body, "The counter is unavailable right now; retry in a second.\n");

    let ready = get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!((ready.header(header::RETRY_AFTER), ready.header(header::CACHE_CONTROL)), ("1", "no-store"));
    let reason: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(reason["status"], "unavailable");

    let live = get("/healthz", None).await;
    assert_eq!((live.status, live.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(live.header(header::CACHE_CONTROL), "no-store");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_given_one_is_kept() {
    for path in ["/", "/healthz", "/nope"] {
        assert!(!get(path, None).await.header(header::HeaderName::from_static("x-request-id")).is_empty(), "{path}");
    }
    let request = Request::get("/").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn the_stylesheet_is_served_by_the_app_and_cacheable() {
    let css = get("/assets/style.css", None).await;

    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header(header::CONTENT_TYPE).starts_with("text/css"));
    assert_eq!(css.header(header::CACHE_CONTROL), "public, max-age=3600");
}
