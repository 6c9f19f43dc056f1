//! The public edge while Redis is down. Every replica shares Redis, so a replica's 503 is an answer, not a failed
//! replica: NGINX must keep them all in rotation. Seen on compose before: `/readyz` through NGINX 503, 503, then 502
//! "no live upstreams" for every route for `fail_timeout`. And `/readyz` is not the public's to ask.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Router, http::StatusCode as AppStatus, routing::get};
use nix::sys::signal::Signal;
use reqwest::StatusCode;
use xtask::nginx::{Nginx, NginxSpec};

use crate::{helpers::client, stack::spawn_stack};

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_down_nginx_answers_503_or_404_and_keeps_serving_healthz_and_pages() {
    let mut t = spawn_stack(3);
    t.stack.redis.stop(Signal::SIGKILL).unwrap();

    let mut answers = Vec::new();
    for path in ["/readyz", "/count"].repeat(10).into_iter().chain(["/healthz", "/"]) {
        answers.push((path, t.http.get(t.url(path)).send().await.expect("nginx answers").status()));
    }

    let bad_gateway: Vec<_> = answers.iter().filter(|(_, s)| *s == StatusCode::BAD_GATEWAY).collect();
    assert!(bad_gateway.is_empty(), "502 through NGINX: {bad_gateway:?}\n{}", t.stack.nginx.log());
    for (path, status) in &answers {
        let expected = match *path {
            "/readyz" => StatusCode::NOT_FOUND,
            "/count" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        };
        assert_eq!(*status, expected, "{path}");
    }
    assert!(!t.stack.nginx.log().contains("no live upstreams"), "{}", t.stack.nginx.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_not_served_at_the_public_edge_but_on_each_replica() {
    let t = spawn_stack(1);

    for path in ["/readyz", "/readyz/", "/readyz?x=1"] {
        assert_eq!(t.http.get(t.url(path)).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{path}");
    }
    let own = t.http.get(format!("http://127.0.0.1:{}/readyz", t.stack.replicas[0].port)).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK, "the replica's own port");
    assert_eq!(t.http.get(t.url("/healthz")).send().await.unwrap().status(), StatusCode::OK, "liveness stays public");
}

/// The retry policy alone, on any route behind `location /`: NGINX from the shipped template in front of two stand-in
/// replicas that answer 503 to `/busy` (as the app does when Redis is down or a request outlasts its budget).
#[tokio::test(flavor = "multi_thread")]
async fn an_app_503_is_passed_on_once_and_never_marks_a_replica_failed() {
    let dir = tempfile::tempdir().unwrap();
    xtask::init::ensure_tls(&dir.path().join("tls")).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let (first, second) = (stand_in(hits.clone()).await, stand_in(hits.clone()).await);
    let ports = xtask::wait::free_port;
    let nginx = Nginx::start(&NginxSpec {
        dir: dir.path().join("nginx"),
        port: ports(),
        tls_port: ports(),
        status_port: ports(),
        tls_dir: dir.path().join("tls"),
        upstreams: vec![first, second],
        down: Vec::new(),
    })
    .unwrap();
    let http = client();

    for _ in 0..6 {
        assert_eq!(http.get(nginx.url("/busy")).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let page = http.get(nginx.url("/")).send().await.unwrap().status();

    assert_eq!(page, StatusCode::OK, "both replicas still in rotation:\n{}", nginx.log());
    assert_eq!(hits.load(Ordering::SeqCst), 6 + 1, "each request reached one replica once: no retry of an answer");
}

/// A replica stand-in on a free loopback port: 503 on `/busy`, 200 on anything else; counts every request.
async fn stand_in(hits: Arc<AtomicUsize>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counted = |status: AppStatus| {
        let hits = hits.clone();
        move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async move { status }
        }
    };
    let app =
        Router::new().route("/busy", get(counted(AppStatus::SERVICE_UNAVAILABLE))).fallback(counted(AppStatus::OK));
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}
