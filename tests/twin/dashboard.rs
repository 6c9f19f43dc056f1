//! The Grafana dashboard (`dashboards/*.json`) against the real Prometheus of the native twin: under a short load
//! every query of every panel (found by walking the JSON, so a new panel is covered without touching this file)
//! returns data. The only queries not run are those on series that only the Collector produces (no Collector runs
//! here); they are listed, and their metric names must be the ones the configured spanmetrics connector or the
//! Collector itself exports. LogQL queries (Loki datasource) cannot run here either: tests/policy/loki_config.rs
//! checks them statically, and tests/policy/dashboard.rs that every datasource they name is provisioned.

use std::collections::BTreeSet;

use crate::{
    helpers::heavy_load,
    prometheus_api::{Api, background_load},
    shipped::{dashboards, panels, spanmetrics_series},
    stack::spawn_monitored_stack,
};

/// The Collector's own metrics the dashboard and the rules use, as its Prometheus endpoint names them (counters get
/// `_total`); from the Collector's internal-telemetry documentation, not observed here.
const COLLECTOR_OWN: [&str; 3] = [
    "otelcol_receiver_accepted_spans_total",
    "otelcol_receiver_refused_spans_total",
    "otelcol_exporter_send_failed_spans_total",
];

/// The metric names in `expr` that only a Collector serves.
fn collector_only(expr: &str) -> Vec<String> {
    let words = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    words.filter(|w| w.starts_with("traces_span_metrics_") || w.starts_with("otelcol_")).map(str::to_owned).collect()
}

/// The dashboard variables as Grafana substitutes them for "All replicas" over a short range.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
        .replace("$replica", ".*")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_panel_query_returns_data_on_the_twin_except_the_listed_collector_series() {
    // Prometheus starting and a background load: kept apart from the exactness tests, like other loads.
    let _heavy = heavy_load().await;
    let t = spawn_monitored_stack(2);
    let api = Api::of(&t);
    let _load = background_load(&t);
    let known: BTreeSet<String> = spanmetrics_series().into_iter().chain(COLLECTOR_OWN.map(String::from)).collect();

    let (mut ran, mut skipped) = (0, Vec::new());
    for (file, dashboard) in dashboards() {
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["uid"] == "loki" {
                    skipped.push(format!("{} (LogQL)", panel["title"]));
                    continue;
                }
                let expr = target["expr"].as_str().unwrap_or_else(|| panic!("{file}: {} has an expr", panel["title"]));
                let only_collector = collector_only(expr);
                if !only_collector.is_empty() {
                    let unknown: Vec<_> = only_collector.iter().filter(|m| !known.contains(*m)).collect();
                    assert!(unknown.is_empty(), "{}: {unknown:?} is no series the Collector exports", panel["title"]);
                    skipped.push(format!("{} / {}", panel["title"], target["legendFormat"]));
                    continue;
                }
                let query = substitute(expr);
                assert!(!query.contains('$'), "{}: a variable left in {query}", panel["title"]);
                api.poll(&format!("data for {} / {}: {query}", panel["title"], target["legendFormat"]), |api| {
                    let query = query.clone();
                    async move { (!api.query(&query).await?.as_array()?.is_empty()).then_some(()) }
                })
                .await;
                ran += 1;
            }
        }
    }
    eprintln!("{ran} panel queries returned data; not run (Collector-only series): {skipped:#?}");
    assert!(ran >= 20, "the dashboard's queries ran: {ran}");
}
