//! Logs as OpenTelemetry log records: what the app exports over OTLP/HTTP to an in-process receiver (no Collector
//! runs here) — the request's trace and span ids on each record, the spans' resource, the flush at exit, and the
//! switch that turns the export off while stdout keeps its lines.

use std::time::{Duration, Instant};

use harness::sink::Sink;
use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::{logs::v1::LogRecord, resource::v1::Resource};
use reqwest::StatusCode;

use crate::{
    helpers::{TestApp, spawn_app_with},
    metrics::scrape_sum,
    otlp::{attr, hex, resource_attr, server_span_id, text},
};

const PARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// An app exporting spans and logs over OTLP/HTTP to `receiver`, with the batch delays (ms) given.
async fn exporting_app(receiver: &Sink, delay_ms: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut env = receiver.env(delay_ms).to_vec();
    // As compose: every request traced, so every request line is exported (untraced ones are not).
    env.extend([("OTEL_TRACES_SAMPLER", "parentbased_always_on"), ("OTEL_BLRP_SCHEDULE_DELAY", delay_ms)]);
    env.extend_from_slice(extra);
    spawn_app_with(&env).await
}

/// Log records received until one has the body `body`, or all received by `deadline` (then without it).
async fn records_until(receiver: &mut Sink, body: &str, deadline: Duration) -> Vec<(Resource, LogRecord)> {
    let end = Instant::now() + deadline;
    let mut records = Vec::new();
    while let Some(export) = receiver.next_logs(end.saturating_duration_since(Instant::now())).await {
        for resource_logs in export.resource_logs {
            let resource = resource_logs.resource.unwrap_or_default();
            let logs = resource_logs.scope_logs.into_iter().flat_map(|s| s.log_records);
            records.extend(logs.map(|r| (resource.clone(), r)));
        }
        if records.iter().any(|(_, r)| body_of(r) == body) {
            break;
        }
    }
    records
}

fn body_of(record: &LogRecord) -> String {
    record.body.as_ref().and_then(text).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_requests_log_records_carry_its_trace_and_span_ids_and_the_resource_of_its_spans() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    let mut t = exporting_app(&receiver, "100", &[]).await;
    t.redis.stop(Signal::SIGKILL).unwrap();

    let traceparent = format!("00-{PARENT_TRACE}-00f067aa0ba902b7-01");
    let response = t.http.get(t.app.url("/count")).header("traceparent", traceparent).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let span_id = server_span_id(&response);
    let records = records_until(&mut receiver, "request completed", Duration::from_secs(10)).await;

    let find = |body: &str| records.iter().find(|(_, r)| body_of(r) == body).unwrap_or_else(|| panic!("{body}"));
    let (resource, completed) = find("request completed");
    let (_, failed) = find("request failed");
    for record in [completed, failed] {
        assert_eq!(hex(&record.trace_id), PARENT_TRACE, "{record:?}");
        assert_eq!(hex(&record.span_id), span_id, "the server span's id: {record:?}");
    }
    assert_eq!((completed.severity_text.as_str(), failed.severity_text.as_str()), ("INFO", "ERROR"));
    assert_eq!(attr(&completed.attributes, "route").as_deref(), Some("/count"));
    assert_eq!(resource_attr(resource, "service.name").as_deref(), Some("visit-counter"));
    let spans = receiver.next_traces(Duration::from_secs(10)).await.expect("a trace export");
    let span_resource = spans.resource_spans[0].resource.as_ref().unwrap();
    let instance = |r: &Resource| resource_attr(r, "service.instance.id");
    assert_eq!(instance(resource), instance(span_resource), "logs and spans share the resource");
    assert!(instance(resource).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exports_the_last_log_records() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    // A schedule far longer than the test: only the flush at exit can deliver these records.
    let mut t = exporting_app(&receiver, "600000", &[]).await;
    let response = t.get("/count").await;
    assert_eq!(response.status(), StatusCode::OK);
    let span_id = server_span_id(&response);

    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());
    let records = records_until(&mut receiver, "request completed", Duration::from_secs(10)).await;

    let completed = records.iter().find(|(_, r)| body_of(r) == "request completed").expect("flushed at exit");
    assert_eq!(hex(&completed.1.span_id), span_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn otel_logs_exporter_none_exports_spans_but_no_log_records_and_stdout_keeps_its_lines() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    let mut t = exporting_app(&receiver, "600000", &[("OTEL_LOGS_EXPORTER", "none")]).await;
    assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    assert!(t.log_with("request completed").contains("request completed"), "the stdout JSON line");

    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    assert!(receiver.next_traces(Duration::from_secs(10)).await.is_some(), "spans are still exported");
    // The process has exited: anything it would ever export has been sent by now.
    assert!(receiver.next_logs(Duration::from_millis(500)).await.is_none(), "no log records");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_log_queue_drops_and_counts_records_and_requests_still_succeed() {
    // A queue of 16 that is never drained during the test (nothing listens): requests must not wait for it.
    let nowhere = format!("http://127.0.0.1:{}", harness::ports::free_port());
    let env = [
        // As compose: every request traced, so every request line is exported (untraced ones are not).
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere.as_str()),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "16"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "600000"),
    ];
    let t = spawn_app_with(&env).await;

    for _ in 0..100 {
        assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    }

    // One record per request plus the few start-up lines; 16 fit in the queue.
    let dropped = scrape_sum(&t, "otel_logs_dropped_total{reason=\"queue_full\"}").await;
    assert!((84.0..100.0).contains(&dropped), "dropped {dropped}");
    assert_eq!(t.counter(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_never_answers_holds_the_exit_for_one_flush_timeout_not_one_per_pipeline() {
    // Accepts connections (the kernel's backlog) and never answers: both exports at exit wait for their timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let env = [
        // As compose: every request traced, so every request line is exported (untraced ones are not).
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "600000"),
    ];
    let mut t = spawn_app_with(&env).await;
    assert_eq!(t.get("/count").await.status(), StatusCode::OK);

    let start = Instant::now();
    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());
    let took = start.elapsed();

    // Spans and log records flush at once within the one 3 s budget (one after the other would take 6 s).
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_millis(5500), "exit took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untraced_requests_line_stays_on_stdout_and_only_traced_lines_and_errors_are_exported() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    // New traces never sampled, a sampled caller followed: which request is traced is certain.
    let never = [("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0")];
    let mut t = exporting_app(&receiver, "600000", &never).await;

    let traced = format!("00-{PARENT_TRACE}-00f067aa0ba902b7-01");
    let response = t.http.get(t.app.url("/count")).header("traceparent", traced).send().await.unwrap();
    let span_id = server_span_id(&response);
    assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    t.redis.stop(Signal::SIGKILL).unwrap();
    assert_eq!(t.get("/count").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    // Everything was flushed at exit; wait a moment for nothing more.
    let records = records_until(&mut receiver, "(no such record)", Duration::from_secs(2)).await;
    let completed: Vec<_> = records.iter().filter(|(_, r)| body_of(r) == "request completed").collect();
    assert_eq!(completed.len(), 1, "only the traced request's line: {completed:?}");
    assert_eq!(hex(&completed[0].1.span_id), span_id);
    let failed = records.iter().find(|(_, r)| body_of(r) == "request failed").expect("errors are always exported");
    assert!(failed.1.trace_id.is_empty(), "the failed request was not traced");
    let stdout = t.app.log();
    assert_eq!(stdout.lines().filter(|l| l.contains("request completed")).count(), 3, "stdout has every line");
}

#[tokio::test(flavor = "multi_thread")]
async fn log_requests_otlp_exports_each_requests_line_and_keeps_it_off_stdout_but_not_errors() {
    let mut receiver = Sink::keeping().expect("the OTLP sink starts");
    let mut t = exporting_app(&receiver, "600000", &[("LOG_REQUESTS", "otlp")]).await;
    let response = t.get("/count").await;
    assert_eq!(response.status(), StatusCode::OK);
    let span_id = server_span_id(&response);
    t.redis.stop(Signal::SIGKILL).unwrap();
    assert_eq!(t.get("/count").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    t.app.signal(Signal::SIGTERM).unwrap();
    assert!(t.app.wait_exit(Duration::from_secs(15)).unwrap().success());

    let records = records_until(&mut receiver, "(no such record)", Duration::from_secs(2)).await;
    let completed: Vec<_> = records.iter().filter(|(_, r)| body_of(r) == "request completed").collect();
    assert_eq!(completed.len(), 2, "both requests' lines are exported: {completed:?}");
    assert!(completed.iter().any(|(_, r)| hex(&r.span_id) == span_id));
    let stdout = t.app.log();
    assert!(!stdout.contains("request completed"), "no request line on stdout: {stdout}");
    assert!(stdout.contains("\"listening\"") && stdout.contains("request failed"), "the rest stays: {stdout}");
}
