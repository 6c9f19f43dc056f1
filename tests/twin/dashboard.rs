//! The Grafana dashboard (`dashboards/*.json`) against the provisioning and the real Prometheus
//! of the native twin: every datasource uid it names is provisioned, and under a short load every query of every
//! panel (found by walking the JSON, so a new panel is covered without touching this file) returns data. The only
//! queries not run are those on series that only the Collector produces (no Collector runs here); they are listed,
//! and their metric names must be the ones the configured spanmetrics connector or the Collector itself exports.
//! LogQL queries (Loki datasource) cannot run here either: tests/api/loki_config.rs checks them statically.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{
    collector_config::spanmetrics_series,
    compose_policy::root,
    helpers::heavy_load,
    prometheus_api::{Api, background_load},
    stack::spawn_monitored_stack,
};

/// The Collector's own metrics the dashboard and the rules use, as its Prometheus endpoint names them (counters get
/// `_total`); from the Collector's internal-telemetry documentation, not observed here.
const COLLECTOR_OWN: [&str; 3] = [
    "otelcol_receiver_accepted_spans_total",
    "otelcol_receiver_refused_spans_total",
    "otelcol_exporter_send_failed_spans_total",
];

pub fn dashboards() -> Vec<(String, Value)> {
    let dir = root().join("dashboards");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"));
    files
        .map(|p| (p.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect()
}

/// Every panel, rows' nested panels included.
pub fn panels(dashboard: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        out.extend(panel["panels"].as_array().cloned().unwrap_or_default());
        out.push(panel.clone());
    }
    out
}

/// Every `"uid"` under a `"datasource"` key anywhere in `value`.
fn datasource_uids(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            if let (true, Some(uid)) = (k == "datasource", v["uid"].as_str()) {
                out.insert(uid.to_owned());
            }
            datasource_uids(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| datasource_uids(v, out)),
        _ => {}
    }
}

fn provisioned_uids() -> BTreeSet<String> {
    let path = root().join("observability/grafana/provisioning/datasources/datasources.yaml");
    let config: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    config["datasources"].as_sequence().unwrap().iter().map(|d| d["uid"].as_str().unwrap().to_owned()).collect()
}

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

#[test]
fn every_datasource_the_dashboards_use_is_provisioned_with_exemplars_linked_to_jaeger() {
    let provisioned = provisioned_uids();
    for (file, dashboard) in dashboards() {
        let mut used = BTreeSet::new();
        datasource_uids(&dashboard, &mut used);
        assert!(!used.is_empty() && used.is_subset(&provisioned), "{file}: uses {used:?}, provisioned {provisioned:?}");
        for panel in panels(&dashboard).iter().filter(|p| p["type"] != "row") {
            assert!(
                panel["datasource"]["uid"].is_string(),
                "{file}: panel {} names its datasource by uid",
                panel["title"]
            );
            for target in panel["targets"].as_array().unwrap() {
                assert!(target["datasource"]["uid"].is_string(), "{file}: {} {}", panel["title"], target["refId"]);
            }
        }
        let replica = dashboard["templating"]["list"].as_array().unwrap().iter().any(|v| v["name"] == "replica");
        assert!(replica, "{file}: a replica variable");
    }
    let path = root().join("observability/grafana/provisioning/datasources/datasources.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("exemplarTraceIdDestinations") && text.contains("datasourceUid: jaeger"), "exemplar links");
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
