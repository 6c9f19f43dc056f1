//! Traces and logs as a user of the stack sees them: exported spans (to an in-process OTLP receiver: the gRPC fake
//! collector, or the harness's OTLP/HTTP sink) and the JSON log line of a request.

use std::time::Duration;

use fake_opentelemetry_collector::{ExportedSpan, FakeCollectorServer};
use harness::sink::Sink;
use nix::sys::signal::Signal;
use reqwest::StatusCode;

use crate::{
    helpers::{TestApp, spawn_app_with},
    otlp::resource_attr,
};

const PARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

/// An app exporting over gRPC to `collector`, flushing every 100 ms, tracing every request (as compose ships it; the
/// app's own default keeps 1 new trace in 100, see `the_default_sampler_...`).
async fn traced_app(collector: &FakeCollectorServer, extra: &[(&str, &str)]) -> TestApp {
    let endpoint = collector.endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
    ];
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// At least `n` spans `collector` received within `timeout`, or fewer at the deadline. The fake collector queues at
/// most 64 spans and holds its gRPC answer while the queue is full, so more than 64 must be taken while they arrive:
/// otherwise the app's final export times out, the app exits, and the spans past the 64th are lost with the
/// connection (seen: 32 of 34 server spans, 2026-12-02).
async fn spans_from(collector: &mut FakeCollectorServer, n: usize, timeout: Duration) -> Vec<ExportedSpan> {
    let deadline = std::time::Instant::now() + timeout;
    let mut spans = Vec::new();
    while spans.len() < n && std::time::Instant::now() < deadline {
        let wanted = (n - spans.len()).min(64);
        spans.extend(collector.exported_spans(wanted, Duration::from_millis(100)).await);
    }
    spans
}

fn attr<'a>(span: &'a ExportedSpan, key: &str) -> &'a str {
    span.attributes.get(key).map_or("", String::as_str)
}

fn server_spans(spans: &[ExportedSpan]) -> Vec<&ExportedSpan> {
    spans.iter().filter(|s| s.kind.contains("SERVER")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_count_yields_a_semconv_server_span_with_a_redis_child() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let t = traced_app(&collector, &[]).await;

    let response = t.http.get(t.app.url("/count")).header("user-agent", "telemetry-test/1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let spans = collector.exported_spans(2, Duration::from_secs(10)).await;

    let server = spans.iter().find(|s| s.name == "GET /count").expect("a server span named after the route");
    assert!(server.kind.contains("SERVER"));
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/count"),
        ("http.response.status_code", "IntValue(200)"),
        ("url.path", "/count"),
        ("url.scheme", "http"),
        ("server.address", "127.0.0.1"),
        ("server.port", &format!("IntValue({})", t.app.port)),
        ("client.address", "127.0.0.1"),
        ("user_agent.original", "telemetry-test/1"),
        ("network.protocol.version", "1.1"),
    ] {
        assert!(attr(server, key).contains(value), "{key}: {:?}", attr(server, key));
    }
    let redis = spans.iter().find(|s| s.name == "INCR").expect("a Redis client span");
    assert!(redis.kind.contains("CLIENT"));
    assert_eq!(redis.trace_id, server.trace_id);
    assert_eq!(redis.parent_span_id, server.span_id, "the Redis span is a child of the server span");
    for (key, value) in [
        ("db.system.name", "redis"),
        ("db.operation.name", "INCR"),
        ("db.namespace", "0"),
        ("server.address", "127.0.0.1"),
        ("server.port", &format!("IntValue({})", t.redis.port())),
    ] {
        assert!(attr(redis, key).contains(value), "{key}: {:?}", attr(redis, key));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn traceparent_continues_the_callers_trace_and_names_the_server_span() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let t = traced_app(&collector, &[]).await;

    let response = t
        .http
        .get(t.app.url("/count"))
        .header("traceparent", format!("00-{PARENT_TRACE}-{PARENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    let traceparent = response.headers()["traceparent"].to_str().unwrap().to_owned();
    let spans = collector.exported_spans(2, Duration::from_secs(10)).await;

    let server = server_spans(&spans)[0];
    assert_eq!(server.trace_id, PARENT_TRACE);
    assert_eq!(server.parent_span_id, PARENT_SPAN);
    assert_eq!(traceparent, format!("00-{PARENT_TRACE}-{}-01", server.span_id));
    // The request's JSON log line carries the same ids.
    let log = t.log_with("request completed");
    let line = log.lines().find(|l| l.contains("request completed")).map(str::to_owned).expect("a request log");
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["trace_id"], PARENT_TRACE);
    assert_eq!(line["span_id"], server.span_id.as_str());
    assert_eq!((&line["method"], &line["route"], &line["status"]), (&"GET".into(), &"/count".into(), &200.into()));
    assert!(line["duration_ms"].as_f64().is_some_and(|d| d > 0.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exports_every_span_served_before_it() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    // A schedule far longer than the test: only the flush at exit can deliver these spans.
    let mut t = traced_app(&collector, &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    for _ in 0..25 {
        assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    }

    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    let spans = collector.exported_spans(50, Duration::from_secs(10)).await;
    assert_eq!(server_spans(&spans).len(), 25, "one server span per request, all flushed at exit");
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_filters_logs_but_not_traces() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let mut t = traced_app(&collector, &[("RUST_LOG", "warn")]).await;

    t.get("/count").await;

    let spans = collector.exported_spans(2, Duration::from_secs(10)).await;
    assert!(spans.iter().any(|s| s.name == "GET /count") && spans.iter().any(|s| s.name == "INCR"));
    // An ERROR line written after the request proves the log writer has caught up before we look for INFO lines.
    t.redis.stop(Signal::SIGKILL).unwrap();
    t.get("/count").await;
    let log = t.log_with("request failed");
    assert!(log.contains("request failed"), "ERROR lines pass RUST_LOG=warn");
    assert!(!log.contains("request completed"), "no INFO log lines at RUST_LOG=warn");
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_are_not_traced() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let mut t = traced_app(&collector, &[]).await;
    t.get("/healthz").await;
    t.get("/readyz").await;
    t.get("/").await;

    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    let names: Vec<String> =
        collector.exported_spans(1, Duration::from_secs(5)).await.into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["GET /"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_failure_marks_both_spans_as_errors() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let mut t = traced_app(&collector, &[]).await;
    t.redis.stop(Signal::SIGKILL).unwrap();

    assert_eq!(t.get("/count").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    let spans = collector.exported_spans(2, Duration::from_secs(10)).await;
    let server = spans.iter().find(|s| s.name == "GET /count").expect("server span");
    let redis = spans.iter().find(|s| s.name == "INCR").expect("Redis span");
    assert!(format!("{:?}", server.status).contains("STATUS_CODE_ERROR"), "server span status: {:?}", server.status);
    assert!(attr(server, "http.response.status_code").contains("503"));
    assert!(format!("{:?}", redis.status).contains("STATUS_CODE_ERROR"), "Redis span status: {:?}", redis.status);
    assert!(attr(redis, "error.type").contains("connection"), "error.type: {}", attr(redis, "error.type"));
}

#[tokio::test(flavor = "multi_thread")]
async fn otel_sdk_disabled_exports_nothing_and_serves() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let mut t = traced_app(&collector, &[("OTEL_SDK_DISABLED", "true")]).await;

    let response = t.get("/count").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("traceparent").is_none());
    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    // The process has exited: anything it would ever export has been sent by now.
    assert!(collector.exported_spans(1, Duration::from_millis(500)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_over_http_flushes_at_exit_and_carries_the_resource() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    let mut env = receiver.env("600000").to_vec();
    env.extend([
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
    ]);
    let mut t = spawn_app_with(&env).await;
    t.get("/count").await;

    // Only the flush at exit can deliver these spans (the batch delay is ten minutes).
    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());
    let export = receiver.next_traces(Duration::from_secs(10)).await.expect("an OTLP/HTTP export at exit");

    let resource = export.resource_spans[0].resource.as_ref().expect("a resource");
    assert_eq!(resource_attr(resource, "service.name").as_deref(), Some("visit-counter"));
    assert_eq!(resource_attr(resource, "service.version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(resource_attr(resource, "deployment.environment.name").as_deref(), Some("test"));
    let instance = resource_attr(resource, "service.instance.id").expect("service.instance.id");
    assert_eq!(instance.len(), 36, "a UUID: {instance}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_sampler_follows_a_sampled_caller_and_keeps_about_one_new_trace_in_a_hundred() {
    let mut collector = FakeCollectorServer::start().await.unwrap();
    let endpoint = collector.endpoint();
    // No OTEL_TRACES_SAMPLER: the app's default. A ten-minute batch delay: only the flush at exit exports.
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        // About sampling, not deadlines: 2,000 requests in a row must not fail on one CPU stall of a busy machine.
        ("REDIS_TIMEOUT_MS", "2000"),
        ("REQUEST_TIMEOUT_MS", "5000"),
    ];
    let mut t = spawn_app_with(&env).await;

    let callers = ["4bf92f3577b34da6a3ce929d0e0e4701", "4bf92f3577b34da6a3ce929d0e0e4702"];
    for trace in callers {
        let sampled = format!("00-{trace}-{PARENT_SPAN}-01");
        let response = t.http.get(t.app.url("/count")).header("traceparent", sampled).send().await.unwrap();
        assert!(response.headers()["traceparent"].to_str().unwrap().contains(trace), "a sampled caller is followed");
    }
    let unsampled = format!("00-{PARENT_TRACE}-{PARENT_SPAN}-00");
    let response = t.http.get(t.app.url("/count")).header("traceparent", unsampled).send().await.unwrap();
    assert!(response.headers().get("traceparent").is_none(), "an unsampled caller's request is not traced");
    let (mut traced, new) = (0, 2000);
    for _ in 0..new {
        let response = t.get("/count").await;
        assert_eq!(response.status(), StatusCode::OK);
        traced += usize::from(response.headers().contains_key("traceparent"));
    }
    t.app.signal(Signal::SIGTERM).unwrap();
    // Taken while the app exports them: see `spans_from`.
    let spans = spans_from(&mut collector, 2 * (callers.len() + traced), Duration::from_secs(10)).await;
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());
    let servers = server_spans(&spans);
    assert_eq!(
        servers.len(),
        callers.len() + traced,
        "a server span for exactly the requests answered with a traceparent ({traced} traced)"
    );
    for trace in callers {
        assert!(servers.iter().any(|s| s.trace_id == trace), "the caller's trace {trace} was exported");
    }
    assert!(servers.iter().all(|s| s.trace_id != PARENT_TRACE), "the unsampled caller's trace was not exported");
    // 1% of 2000: 20 expected; outside 3..=60 has a probability below one in a million.
    assert!((3..=60).contains(&traced), "{traced} of {new} new traces kept; expected about 20");
    // Every Redis span belongs to a kept request: unsampled requests open none.
    let redis: Vec<_> = spans.iter().filter(|s| s.name == "INCR").collect();
    assert_eq!(redis.len(), servers.len());
    assert!(redis.iter().all(|r| servers.iter().any(|s| s.span_id == r.parent_span_id)));
}
