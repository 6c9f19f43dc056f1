//! The log route, checked statically because its programs cannot run here: no Collector or Grafana binary exists on
//! this machine, and Debian's `loki` predates OTLP ingestion. So: the Collector's logs pipeline sends to the Loki that
//! compose runs, on the port it listens on; Loki keeps a bounded store on its volume with structured metadata on; NGINX
//! writes its access log file where the Collector's file_log receiver reads it, through a shared volume (no Docker
//! socket anywhere); Grafana links Loki and Jaeger both ways; and every LogQL query (dashboard and datasources) selects
//! streams by the labels Loki's OTLP mapping creates for the service names this stack sets, and filters on the
//! structured metadata that mapping produces.

use std::{collections::BTreeSet, os::unix::fs::PermissionsExt};

use serde_yaml::Value;

use crate::{
    collector_config::list,
    compose_policy::members,
    shipped::{compose, config, dashboards, panels, root},
};

const COLLECTOR: &str = "observability/otel-collector/config.yaml";
const LOKI: &str = "observability/loki/config.yaml";
const DATASOURCES: &str = "observability/grafana/provisioning/datasources/datasources.yaml";

/// Stream labels Loki makes from OTLP resource attributes: only those its config names (dots as underscores).
const INDEX_LABELS: [&str; 1] = ["service_name"];
/// Structured metadata Loki 3 makes from every OTLP log record (plus `detected_level`, from the severity).
const RECORD_METADATA: [&str; 6] =
    ["trace_id", "span_id", "severity_text", "severity_number", "flags", "detected_level"];

/// The mount target of `volume` in `service`'s volumes.
fn mount(service: &Value, volume: &str) -> Option<String> {
    list(&service["volumes"]).iter().find_map(|v| {
        let mut parts = v.split(':');
        (parts.next() == Some(volume)).then(|| parts.next().unwrap_or_default().to_owned())
    })
}

fn host_port(url: &str) -> (String, u64) {
    let authority = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap();
    let (host, port) = authority.rsplit_once(':').expect("host:port");
    (host.to_owned(), port.parse().unwrap())
}

#[test]
fn the_collectors_logs_pipeline_reaches_loki_which_keeps_a_bounded_store_on_its_volume() {
    let (collector, loki, compose) = (config(COLLECTOR), config(LOKI), compose());
    let pipeline = &collector["service"]["pipelines"]["logs"];
    assert_eq!(list(&pipeline["receivers"]), ["otlp", "file_log/nginx"], "the replicas' records and NGINX's lines");
    assert_eq!(list(&pipeline["exporters"]), ["otlp_http/loki"]);
    let endpoint = collector["exporters"]["otlp_http/loki"]["endpoint"].as_str().unwrap();
    assert!(endpoint.ends_with("/otlp"), "Loki's native OTLP endpoint: {endpoint}");
    let (host, port) = host_port(endpoint);
    let service = &compose["services"][host.as_str()];
    assert_eq!(loki["server"]["http_listen_port"].as_u64(), Some(port), "the Collector sends where Loki listens");
    assert!(list(&service["healthcheck"]["test"]).join(" ").contains(&format!("127.0.0.1:{port}/ready")));
    assert!(service["ports"].is_null(), "Loki is never published to the host");
    let networks = |s: &str| list(&compose["services"][s]["networks"]).into_iter().collect::<BTreeSet<_>>();
    assert!(!networks(&host).is_disjoint(&networks("otel-collector")), "the Collector reaches Loki");
    assert!(!networks(&host).is_disjoint(&networks("grafana")), "Grafana reaches Loki");
    assert!(list(&service["command"]).contains(&"-config.file=/etc/loki/config.yaml".into()));
    assert!(list(&service["volumes"]).contains(&format!("./{LOKI}:/etc/loki/config.yaml:ro")));

    assert_eq!(loki["limits_config"]["allow_structured_metadata"], true, "OTLP ingestion needs structured metadata");
    let resource = &loki["limits_config"]["otlp_config"]["resource_attributes"];
    assert_eq!(resource["ignore_defaults"], true, "Loki's defaults would index service.instance.id");
    let indexed = resource["attributes_config"].as_sequence().unwrap().iter().filter(|c| c["action"] == "index_label");
    let indexed: Vec<String> = indexed.flat_map(|c| list(&c["attributes"])).map(|a| a.replace('.', "_")).collect();
    assert_eq!(indexed, INDEX_LABELS, "the stream labels the LogQL checks below allow");
    for schema in loki["schema_config"]["configs"].as_sequence().unwrap() {
        assert_eq!(
            (&schema["schema"], &schema["store"], &schema["object_store"]),
            (&"v13".into(), &"tsdb".into(), &"filesystem".into())
        );
    }
    let retention = loki["limits_config"]["retention_period"].as_str().unwrap();
    let hours: u64 = retention.strip_suffix('h').and_then(|h| h.parse().ok()).expect("retention in hours");
    assert!(hours > 0 && hours <= 31 * 24, "bounded retention: {retention}");
    assert_eq!(loki["compactor"]["retention_enabled"], true, "retention is only applied with the compactor's");
    assert!(loki["compactor"]["delete_request_store"].is_string());
    let data = mount(service, "loki-data").expect("Loki's data on the named volume loki-data");
    assert!(compose["volumes"].as_mapping().unwrap().contains_key("loki-data"), "a named volume");
    let storage = &loki["common"]["storage"]["filesystem"];
    for dir in [&loki["common"]["path_prefix"], &storage["chunks_directory"], &loki["compactor"]["working_directory"]] {
        assert!(dir.as_str().unwrap().starts_with(&data), "{dir:?} is on the loki-data volume ({data})");
    }
}

#[test]
fn loki_shares_internal_networks_with_the_collector_and_grafana_and_nobody_else() {
    // Loki has no authentication: whoever reaches it may push, query and delete logs. As on Kubernetes (its
    // NetworkPolicy admits the Collector and Grafana only), compose's networks decide who that is.
    let compose = compose();
    let loki_networks: Vec<_> = members(&compose).into_iter().filter(|(_, on)| on.contains("loki")).collect();
    let neighbours: BTreeSet<String> =
        loki_networks.iter().flat_map(|(_, on)| on.iter().filter(|m| *m != "loki").cloned()).collect();
    assert_eq!(neighbours, BTreeSet::from(["otel-collector".to_owned(), "grafana".to_owned()]), "who reaches Loki");
    for (network, _) in &loki_networks {
        assert_eq!(compose["networks"][network.as_str()]["internal"], true, "{network}: internal, no way out");
    }
}

#[test]
fn nginx_writes_the_access_log_file_the_collector_reads_through_a_shared_volume_and_no_docker_socket() {
    let (collector, compose) = (config(COLLECTOR), compose());
    let nginx = &compose["services"]["nginx"];
    let file = nginx["environment"]["NGINX_ACCESS_LOG_FILE"].as_str().unwrap();
    let written = mount(nginx, "nginx-access-log").expect("NGINX mounts the nginx-access-log volume");
    let relative = file.strip_prefix(&format!("{written}/")).expect("the file is on the volume");
    let read = mount(&compose["services"]["otel-collector"], "nginx-access-log").expect("the Collector mounts it");
    let receiver = &collector["receivers"]["file_log/nginx"];
    assert_eq!(list(&receiver["include"]), [format!("{read}/{relative}")], "the Collector reads what NGINX writes");
    assert_eq!(receiver["resource"]["service.name"], "nginx");
    let operators = receiver["operators"].as_sequence().unwrap();
    assert!(operators.iter().any(|o| o["type"] == "json_parser"), "the JSON fields become attributes");
    let trace = operators.iter().find(|o| o["type"] == "trace_parser").expect("a trace_parser");
    assert_eq!(trace["trace_id"]["parse_from"], "attributes.trace_id");
    let template = std::fs::read_to_string(root().join("nginx/templates/visit-counter.conf.template")).unwrap();
    assert!(template.contains("access_log ${NGINX_ACCESS_LOG_FILE} visit_json;"), "NGINX writes the file");
    assert!(template.contains(r#""trace_id":"$visit_trace_id""#), "the line carries the trace id");
    // The file is capped by a hook the image's entrypoint runs: mounted among its scripts, executable, on that file.
    let hook = "./nginx/access-log-cap.sh:/docker-entrypoint.d/40-access-log-cap.sh:ro";
    assert!(list(&nginx["volumes"]).contains(&hook.to_owned()), "{hook}");
    let script = root().join("nginx/access-log-cap.sh");
    assert!(std::fs::metadata(&script).unwrap().permissions().mode() & 0o111 != 0, "the entrypoint runs only +x");
    assert!(std::fs::read_to_string(&script).unwrap().contains("${NGINX_ACCESS_LOG_FILE:?}"));
    // The volume's owner and mode come from init's image, which must mount it before anyone else.
    assert!(mount(&compose["services"]["init"], "nginx-access-log").is_some());
    assert_eq!(
        compose["services"]["otel-collector"]["depends_on"]["init"]["condition"],
        "service_completed_successfully"
    );
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    assert!(!text.contains("docker.sock"), "no service mounts the Docker socket");
}

/// The stream-selector matchers `(name, value)` and the other label names (`by (...)`, `| name op value`) of a LogQL
/// query, as far as they can be read without a LogQL parser.
fn logql_labels(query: &str) -> (Vec<(String, String)>, Vec<String>) {
    let open = query.find('{').expect("a stream selector");
    let close = open + query[open..].find('}').expect("a closed stream selector");
    let mut matchers = Vec::new();
    for matcher in query[open + 1..close].split(',') {
        let at = matcher.find(['=', '!']).expect("name op value");
        let value = matcher[at..].trim_start_matches(['=', '!', '~']).trim().trim_matches('"');
        matchers.push((matcher[..at].trim().to_owned(), value.to_owned()));
    }
    let mut others = Vec::new();
    for segment in query[close + 1..].split('|').skip(1).map(str::trim) {
        let name: String = segment.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let operator = segment[name.len()..].trim_start();
        if !name.is_empty() && operator.starts_with(['=', '!', '>', '<']) {
            others.push(name);
        }
    }
    if let Some(by) = query.split("by (").nth(1) {
        others.extend(by.split(')').next().unwrap().split(',').map(|l| l.trim().to_owned()));
    }
    (matchers, others)
}

/// What is wrong with a LogQL query against the labels this stack's logs have in Loki (empty: nothing).
fn logql_problems(query: &str, services: &BTreeSet<String>) -> Vec<String> {
    let (matchers, others) = logql_labels(query);
    let mut problems = Vec::new();
    for (name, value) in matchers {
        if !INDEX_LABELS.contains(&name.as_str()) {
            problems.push(format!("{query}: stream label {name} is not one OTLP ingestion creates"));
        } else if !value.split('|').all(|v| services.contains(v)) {
            problems.push(format!("{query}: {value} names a service that sends no logs ({services:?})"));
        }
    }
    for name in others.iter().filter(|n| !RECORD_METADATA.contains(&n.as_str()) && !INDEX_LABELS.contains(&n.as_str()))
    {
        problems.push(format!("{query}: {name} is neither a stream label nor record metadata"));
    }
    let balanced = |a: char, b: char| query.matches(a).count() == query.matches(b).count();
    if !(balanced('(', ')') && balanced('{', '}') && balanced('[', ']') && query.matches('"').count().is_multiple_of(2))
    {
        problems.push(format!("{query}: unbalanced"));
    }
    problems
}

#[test]
fn grafana_links_logs_and_traces_both_ways_and_every_logql_query_uses_labels_that_exist() {
    let (datasources, compose, collector) = (config(DATASOURCES), compose(), config(COLLECTOR));
    let sources = datasources["datasources"].as_sequence().unwrap();
    let by_type = |t: &str| sources.iter().find(|d| d["type"] == t).unwrap_or_else(|| panic!("a {t} datasource"));
    let (loki, jaeger) = (by_type("loki"), by_type("jaeger"));
    assert_eq!((loki["uid"].as_str(), host_port(loki["url"].as_str().unwrap())), (Some("loki"), ("loki".into(), 3100)));
    let derived = loki["jsonData"]["derivedFields"].as_sequence().unwrap();
    let to_trace = derived.iter().find(|f| f["matcherRegex"] == "trace_id").expect("a trace_id derived field");
    assert_eq!((&to_trace["matcherType"], &to_trace["datasourceUid"]), (&"label".into(), &jaeger["uid"]));
    let to_logs = &jaeger["jsonData"]["tracesToLogsV2"];
    assert_eq!(to_logs["datasourceUid"], loki["uid"], "a span links to its logs");

    let services: BTreeSet<String> = [
        compose["services"]["web"]["environment"]["OTEL_SERVICE_NAME"].as_str().unwrap(),
        collector["receivers"]["file_log/nginx"]["resource"]["service.name"].as_str().unwrap(),
    ]
    .map(str::to_owned)
    .into();
    let mut queries = vec![to_logs["query"].as_str().unwrap().to_owned()];
    for (_, dashboard) in dashboards() {
        let targets: Vec<serde_json::Value> =
            panels(&dashboard).iter().flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default()).collect();
        let logql = targets.iter().filter(|t| t["datasource"]["uid"] == "loki");
        queries.extend(logql.map(|t| t["expr"].as_str().expect("an expr").to_owned()));
    }
    assert!(queries.len() >= 3, "the trace-to-logs query and the dashboard's log panels: {queries:?}");
    let problems: Vec<String> = queries.iter().flat_map(|q| logql_problems(q, &services)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(queries.iter().any(|q| q.contains("sum by (detected_level)")), "log volume by level");
    // The check can fail: a label Promtail would set, a service nobody runs, a field that is not metadata.
    for wrong in [r#"{job="nginx"}"#, r#"{service_name="web"}"#, r#"{service_name="nginx"} | level="error""#] {
        assert!(!logql_problems(wrong, &services).is_empty(), "{wrong}");
    }
}
