//! No Collector or Jaeger runs in the tests, so their shipped configs (`observability/otel-collector/config.yaml`,
//! `observability/jaeger/config.yaml`) are checked for structure: every pipeline names components that are defined,
//! nothing defined is left unused, `memory_limiter` comes first and `batch` right after it, the Collector's
//! components are the ones its build manifest (`images/otel-collector/manifest.yaml`) compiles in, under their
//! current names, and the ports agree with what compose and prometheus.yml expect. The Prometheus names of the
//! spanmetrics series, derived from the connector's settings (tests/common/shipped.rs) for the dashboard test
//! (tests/twin/dashboard.rs), are checked here. The real binaries loading these files is checked where they are built (see
//! `images/`).

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::shipped::{compose, config, dotenv, root, spanmetrics_series};

fn names(section: &Value) -> BTreeSet<String> {
    section.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str().map(str::to_owned)).collect()
}

pub(crate) fn list(value: &Value) -> Vec<String> {
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
    assert!(list(&pipelines["traces"]["exporters"]).contains(&"otlp_grpc/jaeger".into()), "traces go to Jaeger");
    let exemplars = &collector["connectors"]["spanmetrics"]["exemplars"];
    assert_eq!(exemplars["enabled"], true);
    assert!(exemplars["max_per_data_point"].as_u64().is_some_and(|n| (1..=10).contains(&n)), "capped: {exemplars:?}");
    assert_eq!(collector["exporters"]["prometheus"]["enable_open_metrics"], true, "exemplars need OpenMetrics");
}

/// The last path element of the Go module that provides a component (`file_log/nginx` as a receiver:
/// `filelogreceiver`), by the naming rule of the Collector's modules: the type without underscores, then the kind.
/// `otlp_grpc` is the exception: it kept its module, `otlpexporter`.
fn module_of(kind: &str, component: &str) -> String {
    let ty = component.split('/').next().unwrap_or(component);
    let ty = if ty == "otlp_grpc" { "otlp" } else { ty };
    format!("{}{kind}", ty.replace('_', ""))
}

#[test]
fn the_collector_config_uses_current_names_and_exactly_the_components_its_build_manifest_compiles_in() {
    let collector = config("observability/otel-collector/config.yaml");
    let manifest = config("images/otel-collector/manifest.yaml");
    let release = manifest["dist"]["version"].as_str().unwrap();
    for section in ["receivers", "processors", "exporters", "connectors", "extensions"] {
        let kind = section.trim_end_matches('s');
        let used: BTreeSet<String> = names(&collector[section]).iter().map(|c| module_of(kind, c)).collect();
        let mut built = BTreeSet::new();
        for entry in manifest[section].as_sequence().into_iter().flatten() {
            let (module, version) = entry["gomod"].as_str().unwrap().split_once(' ').unwrap();
            assert_eq!(version, format!("v{release}"), "{module}: one release for every module");
            built.insert(module.rsplit('/').next().unwrap().to_owned());
        }
        assert_eq!(used, built, "{section}: the config's components against the manifest's modules");
    }
    // Deprecated aliases (renamed by 0.149): each still loads, with a warning at every start.
    let old = [("receivers", "filelog"), ("exporters", "otlp"), ("exporters", "otlphttp")];
    for (section, alias) in old {
        let stale: Vec<_> =
            names(&collector[section]).into_iter().filter(|c| c.split('/').next() == Some(alias)).collect();
        assert!(stale.is_empty(), "{section}: {stale:?} use the deprecated name {alias}");
    }
    let tag = |var: &str| dotenv()[var].rsplit(':').next().unwrap_or_default().to_owned();
    assert_eq!(tag("OTELCOL_IMAGE"), release, "compose's Collector is the release the manifest builds");
    let jaeger = std::fs::read_to_string(root().join("images/jaeger/go.mod")).unwrap();
    assert!(jaeger.contains(&format!("Jaeger {} ", tag("JAEGER_IMAGE"))), "images/jaeger/go.mod pins .env's");
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
    let sent_to = collector["exporters"]["otlp_grpc/jaeger"]["endpoint"].as_str().unwrap();
    assert_eq!(sent_to.rsplit(':').next(), grpc.rsplit(':').next(), "the Collector sends where Jaeger listens");
}

#[test]
fn the_spanmetrics_series_carry_the_names_the_collector_serves_for_these_settings() {
    // As otelcol-contrib 0.149.0 serves them on 8889 for this config (seen when the image recipe was made): namespace
    // `traces.span.metrics`, `calls` and `duration`, the histogram in seconds like the app's own and the panels.
    let expected = [
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_seconds_bucket",
        "traces_span_metrics_duration_seconds_sum",
        "traces_span_metrics_duration_seconds_count",
    ];
    assert_eq!(spanmetrics_series(), expected);
}
