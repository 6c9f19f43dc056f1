//! Prometheus metrics as a user of the stack sees them on `METRICS_PORT`, and the trace pipeline's own counters. That
//! `promtool check metrics` finds the page clean is tests/twin/metrics_lint.rs.

use std::{collections::BTreeMap, time::Duration};

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app_with};

#[tokio::test(flavor = "multi_thread")]
async fn a_full_export_queue_drops_and_counts_spans_and_requests_still_succeed() {
    // A queue of 16 that is never drained during the test: requests must not wait for it.
    let nowhere = format!("http://127.0.0.1:{}", harness::ports::free_port());
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere.as_str()),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
    ];
    let t = spawn_app_with(&env).await;

    for _ in 0..100 {
        assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    }

    let dropped = scrape_sum(&t, "otel_spans_dropped_total{reason=\"queue_full\"}").await;
    assert_eq!(dropped, 200.0 - 16.0, "two spans per request; 16 fit in the queue");
    assert_eq!(t.counter(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_collector_counts_failed_exports() {
    let nowhere = format!("http://127.0.0.1:{}", harness::ports::free_port());
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_TRACES_SAMPLER", "always_on"),
    ];
    let t = spawn_app_with(&env).await;

    for _ in 0..20 {
        assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    }

    let mut failed = 0.0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while failed == 0.0 && std::time::Instant::now() < deadline {
        failed = scrape_sum(&t, "otel_spans_dropped_total{reason=\"export_failed\"}").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed > 0.0, "failed exports are counted as dropped spans");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_add_no_series_and_every_family_is_there() {
    let t = spawn_app_with(&[("OTEL_SDK_DISABLED", "true")]).await;
    t.get("/count").await;
    t.get("/nope").await;
    let before = series(&scrape_text(&t).await);

    for i in 0..200 {
        t.get(&format!("/random-{i}-{}", i * 7919)).await;
    }
    let text = scrape_text(&t).await;

    let after = series(&text);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "no new series");
    for name in [
        "http_server_request_duration_seconds_bucket",
        "db_client_operation_duration_seconds_count",
        "visits",
        "visits_build_info",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "process_cpu_seconds_total",
        "db_client_connections",
        "http_server_active_requests",
    ] {
        assert!(after.keys().any(|k| k.starts_with(name)), "missing {name}");
    }
}

async fn scrape_text(t: &TestApp) -> String {
    let url = format!("http://127.0.0.1:{}/metrics", t.app.metrics_port);
    t.http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The sum of every sample whose series starts with `prefix` (a name, optionally with its first labels).
pub(crate) async fn scrape_sum(t: &TestApp, prefix: &str) -> f64 {
    series(&scrape_text(t).await).iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum()
}

/// Every series (name with labels) and its value.
fn series(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(f64::NAN))))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_pipelines_series_exist_at_zero_before_anything_happens() {
    // Exporting to a port nothing listens on, and no request yet: nothing exported, nothing dropped — but every
    // series is there, so `rate()` and the AppDropping* alerts see the first drop.
    let nowhere = format!("http://127.0.0.1:{}", harness::ports::free_port());
    let t = spawn_app_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", nowhere.as_str())]).await;
    let text = scrape_text(&t).await;
    let all = series(&text);
    for name in [
        "otel_spans_dropped_total{reason=\"queue_full\"}",
        "otel_spans_dropped_total{reason=\"export_failed\"}",
        "otel_spans_exported_total",
        "otel_logs_dropped_total{reason=\"queue_full\"}",
        "otel_logs_dropped_total{reason=\"export_failed\"}",
        "otel_logs_exported_total",
    ] {
        assert_eq!(all.get(name), Some(&0.0), "{name} at zero on a fresh replica");
    }
    assert!(text.contains("# HELP otel_logs_dropped_total"), "described");
}
