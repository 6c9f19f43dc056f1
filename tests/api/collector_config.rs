//! No Collector or Jaeger runs here, so their shipped configs (`observability/otel-collector/config.yaml`,
//! `observability/jaeger/config.yaml`) are checked for structure: every pipeline names components that are defined,
//! nothing defined is left unused, `memory_limiter` comes first and `batch` right after it, and the ports agree with
//! what compose and prometheus.yml expect. The Prometheus names of the spanmetrics series are derived here from the
//! connector's settings, for the dashboard test (tests/api/dashboard.rs).

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::compose_policy::{compose, root};

pub fn config(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn names(section: &Value) -> BTreeSet<String> {
    section.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str().map(str::to_owned)).collect()
}

pub fn list(value: &Value) -> Vec<String> {
    value.as_sequence().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// Every way a pipeline or the service can refer to an undefined or leave a defined component unused.
fn dangling(config: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let connectors = names(&config["connectors"]);
    let mut used: BTreeSet<String> = list(&config["service"]["extensions"]).into_iter().collect();
    for (pipeline, spec) in config["service"]["pipelines"].as_mapping().expect("service.pipelines") {
        let pipeline = pipeline.as_str().unwrap();
        for (role, section) in [("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")] {
            for name in list(&spec[role]) {
                let defined =
                    names(&config[section]).contains(&name) || (role != "processors" && connectors.contains(&name));
                if !defined {
                    problems.push(format!("{pipeline}: {role} {name} is not defined"));
                }
                used.insert(name);
            }
        }
    }
    for section in ["receivers", "processors", "exporters", "connectors", "extensions"] {
        for name in names(&config[section]).difference(&used) {
            problems.push(format!("{section}.{name} is defined but unused"));
        }
    }
    problems
}

#[test]
fn every_collector_pipeline_references_defined_components_with_memory_limiter_first_then_batch() {
    let collector = config("observability/otel-collector/config.yaml");
    assert_eq!(dangling(&collector), Vec::<String>::new());
    for (name, pipeline) in collector["service"]["pipelines"].as_mapping().unwrap() {
        assert_eq!(list(&pipeline["processors"])[..2], ["memory_limiter", "batch"], "{name:?}");
    }
    // The connector links the traces pipeline to the metrics one: an exporter of one, a receiver of the other.
    let pipelines = &collector["service"]["pipelines"];
    assert!(list(&pipelines["traces"]["exporters"]).contains(&"spanmetrics".into()));
    assert!(list(&pipelines["metrics/spanmetrics"]["receivers"]).contains(&"spanmetrics".into()));
    assert!(list(&pipelines["traces"]["exporters"]).contains(&"otlp/jaeger".into()), "traces go to Jaeger");
    assert_eq!(collector["connectors"]["spanmetrics"]["exemplars"]["enabled"], true);
    assert_eq!(collector["exporters"]["prometheus"]["enable_open_metrics"], true, "exemplars need OpenMetrics");
}

#[test]
fn the_collector_ports_are_the_ones_compose_and_prometheus_use() {
    let collector = config("observability/otel-collector/config.yaml");
    let prometheus = config("observability/prometheus/prometheus.yml");
    let target = |job: &str| {
        let jobs = prometheus["scrape_configs"].as_sequence().unwrap();
        let job = jobs.iter().find(|j| j["job_name"] == job).unwrap_or_else(|| panic!("job {job}"));
        job["static_configs"][0]["targets"][0].as_str().unwrap().to_owned()
    };
    let own = &collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"];
    assert_eq!(target("otel-collector"), format!("otel-collector:{}", own["port"].as_u64().unwrap()));
    let spanmetrics = collector["exporters"]["prometheus"]["endpoint"].as_str().unwrap();
    assert_eq!(target("spanmetrics"), format!("otel-collector:{}", spanmetrics.rsplit(':').next().unwrap()));
    let health = collector["extensions"]["health_check"]["endpoint"].as_str().unwrap();
    let check = list(&compose()["services"]["otel-collector"]["healthcheck"]["test"]).join(" ");
    assert!(check.contains(&format!("127.0.0.1:{}/", health.rsplit(':').next().unwrap())), "{check}");
    let http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].as_str().unwrap();
    let web = compose()["services"]["web"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"].as_str().unwrap().to_owned();
    assert!(web.ends_with(&format!(":{}", http.rsplit(':').next().unwrap())), "the replicas export to {web}");
}

#[test]
fn jaeger_stores_a_bounded_number_of_traces_and_its_pipeline_references_what_exists() {
    let jaeger = config("observability/jaeger/config.yaml");
    assert_eq!(dangling(&jaeger), Vec::<String>::new());
    let store = jaeger["exporters"]["jaeger_storage_exporter"]["trace_storage"].as_str().unwrap();
    assert_eq!(jaeger["extensions"]["jaeger_query"]["storage"]["traces"], store, "the UI reads what is written");
    let max = jaeger["extensions"]["jaeger_storage"]["backends"][store]["memory"]["max_traces"].as_u64();
    assert!(max.is_some_and(|m| m > 0 && m <= 100_000), "bounded in-memory storage: {max:?}");
    let collector = config("observability/otel-collector/config.yaml");
    let grpc = jaeger["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].as_str().unwrap();
    let sent_to = collector["exporters"]["otlp/jaeger"]["endpoint"].as_str().unwrap();
    assert_eq!(sent_to.rsplit(':').next(), grpc.rsplit(':').next(), "the Collector sends where Jaeger listens");
}

/// The Prometheus names of the series the spanmetrics connector exports, from its settings: the namespace
/// (default `traces.span.metrics`) with dots as underscores, `_calls_total`, and the duration histogram in the unit
/// configured (default `ms`, named `milliseconds` by the Prometheus exporter).
pub fn spanmetrics_series() -> Vec<String> {
    let collector = config("observability/otel-collector/config.yaml");
    let connector = &collector["connectors"]["spanmetrics"];
    let namespace = connector["namespace"].as_str().unwrap_or("traces.span.metrics").replace('.', "_");
    let unit = match connector["histogram"]["unit"].as_str().unwrap_or("ms") {
        "s" => "seconds",
        _ => "milliseconds",
    };
    let mut series = vec![format!("{namespace}_calls_total")];
    series.extend(["bucket", "sum", "count"].map(|s| format!("{namespace}_duration_{unit}_{s}")));
    series
}

#[test]
fn the_spanmetrics_series_carry_the_names_the_connector_documents_for_these_settings() {
    // The connector's README (v0.120): namespace `traces.span.metrics`, `calls` and `duration`, unit ms by default.
    let expected = [
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_milliseconds_bucket",
        "traces_span_metrics_duration_milliseconds_sum",
        "traces_span_metrics_duration_milliseconds_count",
    ];
    assert_eq!(spanmetrics_series(), expected);
}
