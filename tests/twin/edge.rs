//! The public edge while Redis is down. Every replica shares Redis, so a replica's 503 is an answer, not a failed
//! replica: NGINX must keep them all in rotation. Seen on compose before: `/readyz` through NGINX 503, 503, then 502
//! "no live upstreams" for every route for `fail_timeout`. And `/readyz` is not the public's to ask, nor is the client
//! address a caller claims in `X-Forwarded-For` taken for the real one.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, http::StatusCode as AppStatus, routing::get};
use harness::{
    nginx::{Nginx, NginxSpec},
    sink::Sink,
};
use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use reqwest::StatusCode;

use crate::{
    helpers::client,
    otlp::{attr, hex, server_span_id},
    stack::{ROOMY, spawn_stack, spawn_stack_with},
};

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
    harness::init::ensure_tls(&dir.path().join("tls")).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let (first, second) = (stand_in(hits.clone()).await, stand_in(hits.clone()).await);
    let ports = harness::ports::free_port;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_x_forwarded_for_through_nginx_does_not_become_the_client_address() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    let t = spawn_stack_with(1, &[&receiver.env("100")[..], &ROOMY].concat());
    let forged = "203.0.113.7";

    let response = t.http.get(t.url("/count")).header("x-forwarded-for", forged).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The span the replica answered with (its traceparent), among everything exported until it arrives.
    let span_id = server_span_id(&response);
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let mut server: Option<Span> = None;
    while server.is_none() {
        let export = receiver.next_traces(end.saturating_duration_since(std::time::Instant::now())).await;
        let export = export.expect("the request's server span is exported within 10 s");
        let spans = export.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
        server = spans.into_iter().find(|s| hex(&s.span_id) == span_id);
    }
    let server = server.unwrap();

    assert_eq!(server.kind, SpanKind::Server as i32);
    // NGINX is the public edge: the client is the peer NGINX saw (loopback here), never what the caller claims.
    assert_eq!(attr(&server.attributes, "client.address").as_deref(), Some("127.0.0.1"));
    let leaked: Vec<_> = server.attributes.iter().filter(|kv| format!("{:?}", kv.value).contains(forged)).collect();
    assert!(leaked.is_empty(), "the forged address is in no attribute: {leaked:?}");
}
