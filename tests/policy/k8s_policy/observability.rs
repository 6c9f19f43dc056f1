//! The observability part of deploy/k8s, on what the local overlay renders: Prometheus' Kubernetes scrape config keeps
//! compose's job names, so the job every rule and dashboard query selects exists, and each discovered job finds a pod
//! port that serves its metrics; discovery runs with a read-only namespaced Role, the only API token in the stack;
//! Prometheus and Grafana keep their data on claims with compose's retention; the Redis exporter (compose's image) is
//! the only pod besides the app that reaches Redis. promtool checks the config with the shared rules. Loki (compose's
//! version, its config file) keeps its data on a claim and is reached by the Collector and Grafana only, which the
//! datasources and the Collector's logs pipeline need. Alertmanager runs compose's image, start and flags, and only
//! Prometheus reaches it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_yaml::Value;

use super::{env, find, kind, name, pod_spec, rendered};
use crate::shipped::{compose, dotenv, root};

/// What the local overlay renders: base, observability and the ingress-nginx discovery Role.
fn overlay() -> &'static [Value] {
    let (dir, objects) = &rendered()[2];
    assert_eq!(dir, "deploy/k8s/overlays/local");
    objects
}

fn yaml_file(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join(path)).expect(path)).expect("valid YAML")
}

/// The scrape config Prometheus runs on Kubernetes, read from its rendered ConfigMap.
fn kubernetes_config() -> Value {
    let is_config = |o: &&Value| kind(o) == "ConfigMap" && name(o).starts_with("ConfigMap/prometheus-config-");
    let map = overlay().iter().find(is_config).expect("the prometheus-config ConfigMap");
    serde_yaml::from_str(map["data"]["prometheus.yml"].as_str().expect("prometheus.yml")).expect("valid YAML")
}

fn jobs(config: &Value) -> Vec<&Value> {
    config["scrape_configs"].as_sequence().expect("scrape_configs").iter().collect()
}

fn job_names(config: &Value) -> BTreeSet<String> {
    jobs(config).iter().filter_map(|j| j["job_name"].as_str()).map(str::to_owned).collect()
}

/// The job names that `job="X"` and `job!="X"` matchers select in `text` (PromQL, also inside JSON strings).
fn selected_jobs(text: &str) -> BTreeSet<String> {
    let text = text.replace("\\\"", "\"");
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("job") {
        let before = text[..at].chars().next_back().unwrap_or(' ');
        let rest = &text[at + 3..];
        let Some(quoted) = rest.strip_prefix("=\"").or_else(|| rest.strip_prefix("!=\"")) else { continue };
        if !(before.is_alphanumeric() || before == '_') {
            found.insert(quoted.split('"').next().unwrap_or("").to_owned());
        }
    }
    found
}

#[test]
fn the_kubernetes_scrape_config_has_the_jobs_the_rules_and_the_dashboard_select() {
    let kubernetes = kubernetes_config();
    let compose_config = yaml_file("observability/prometheus/prometheus.yml");
    for key in ["global", "rule_files"] {
        assert_eq!(kubernetes[key], compose_config[key], "{key} as in compose's prometheus.yml");
    }
    // ingress-nginx's controller stands in for our NGINX and its exporter: another job name for other metrics.
    let mut expected = job_names(&compose_config);
    assert!(expected.remove("nginx"), "compose scrapes nginx");
    expected.insert("ingress-nginx".to_owned());
    assert_eq!(job_names(&kubernetes), expected);

    let rules = std::fs::read_dir(root().join("observability/prometheus/rules")).expect("rules/");
    let mut texts: Vec<String> = rules.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    texts.push(std::fs::read_to_string(root().join("dashboards/visit-counter.json")).unwrap());
    let selected: BTreeSet<String> = texts.iter().flat_map(|t| selected_jobs(t)).collect();
    assert!(selected.contains("web"), "the rules select job=\"web\": {selected:?}");
    let missing: Vec<&String> = selected.difference(&expected).collect();
    assert!(missing.is_empty(), "selected by rules or dashboard, not scraped on Kubernetes: {missing:?}");
}

/// The value of the `keep` rule on `label` in `job`'s relabelling.
fn kept(job: &Value, label: &str) -> Option<String> {
    let rules = job["relabel_configs"].as_sequence()?;
    let keep = rules.iter().find(|r| {
        r["action"].as_str() == Some("keep")
            && r["source_labels"][0].as_str() == Some(label)
            && r["source_labels"][1].is_null()
    })?;
    keep["regex"].as_str().map(str::to_owned)
}

#[test]
fn every_discovered_job_finds_running_pods_with_a_port_of_that_name() {
    let config = kubernetes_config();
    let discovered: Vec<&Value> =
        jobs(&config).into_iter().filter(|j| j["kubernetes_sd_configs"].is_sequence()).collect();
    assert!(discovered.len() >= 5, "every job but Prometheus' own is discovered");
    for job in discovered {
        let job_name = job["job_name"].as_str().unwrap();
        let sd = &job["kubernetes_sd_configs"][0];
        assert_eq!(sd["role"].as_str(), Some("pod"), "{job_name}: role pod");
        assert_eq!(kept(job, "__meta_kubernetes_pod_phase").as_deref(), Some("Running"), "{job_name}: running pods");
        let port = kept(job, "__meta_kubernetes_pod_container_port_name").expect("a port name is kept");
        let selector = sd["selectors"][0]["label"].as_str().expect("a label selector");
        if job_name == "ingress-nginx" {
            // Not ours: the Role lets Prometheus list the controller's pods in their namespace.
            assert_eq!(sd["namespaces"]["names"][0].as_str(), Some("ingress-nginx"));
            let role = find(overlay(), "RoleBinding", "visit-counter-prometheus-discovery");
            assert_eq!(role["metadata"]["namespace"].as_str(), Some("ingress-nginx"));
            continue;
        }
        assert_eq!(sd["namespaces"]["own_namespace"].as_bool(), Some(true), "{job_name}: this namespace only");
        let app = selector.strip_prefix("app.kubernetes.io/name=").expect("selects app.kubernetes.io/name");
        let (container, declared) = named_port(app, &port);
        assert_eq!(declared.len(), 1, "{job_name}: {app} declares the port {port} once");
        if job_name == "web" {
            let metrics_port = env(&container, "METRICS_PORT");
            assert_eq!(declared[0]["containerPort"].as_u64(), metrics_port, "web: the port `metrics` is METRICS_PORT");
        }
    }
}

/// The first container of the workload whose pods are labelled `app` that has ports named `port`, and those ports.
fn named_port(app: &str, port: &str) -> (Value, Vec<Value>) {
    let labelled = |o: &&Value| o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == app;
    let workload = overlay().iter().filter(|o| pod_spec(o).is_some()).find(labelled);
    let pod = pod_spec(workload.unwrap_or_else(|| panic!("no workload labelled {app}"))).unwrap();
    for container in pod["containers"].as_sequence().unwrap() {
        let ports = container["ports"].as_sequence().cloned().unwrap_or_default();
        let named: Vec<Value> = ports.into_iter().filter(|p| p["name"] == port).collect();
        if !named.is_empty() {
            return (container.clone(), named);
        }
    }
    (Value::Null, Vec::new())
}

#[test]
fn discovery_reads_pods_only_and_only_prometheus_holds_an_api_token() {
    for (dir, objects) in rendered() {
        for object in objects {
            assert!(!kind(object).starts_with("Cluster"), "{dir}: {} (namespaced Roles only)", name(object));
            if kind(object) == "Role" {
                for rule in object["rules"].as_sequence().unwrap() {
                    assert_eq!(rule["resources"], Value::from(vec!["pods"]), "{dir}: {} reads pods only", name(object));
                    let verbs: BTreeSet<&str> =
                        rule["verbs"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
                    assert!(
                        verbs.is_subset(&BTreeSet::from(["get", "list", "watch"])),
                        "{dir}: {} writes",
                        name(object)
                    );
                }
            }
            let Some(pod) = pod_spec(object) else { continue };
            let is_prometheus = name(object) == "StatefulSet/prometheus";
            assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(is_prometheus), "{dir}: {}", name(object));
        }
    }
    let prometheus = pod_spec(find(overlay(), "StatefulSet", "prometheus")).unwrap();
    assert_eq!(prometheus["serviceAccountName"].as_str(), Some("prometheus"));
    let binding = find(overlay(), "RoleBinding", "prometheus-discovery");
    assert_eq!(binding["roleRef"]["name"].as_str(), Some("prometheus-discovery"));
    assert_eq!(binding["subjects"][0]["name"].as_str(), Some("prometheus"));
}

/// Where `pod`'s first container mounts the volume `volume`.
fn mount_path<'a>(pod: &'a Value, volume: &str) -> Option<&'a str> {
    let mounts = pod["containers"][0]["volumeMounts"].as_sequence()?;
    mounts.iter().find(|m| m["name"].as_str() == Some(volume))?["mountPath"].as_str()
}

#[test]
fn prometheus_grafana_and_loki_keep_their_data_on_claims_with_composes_retention() {
    for (workload, path) in [("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana"), ("loki", "/loki")] {
        let set = find(overlay(), "StatefulSet", workload);
        assert_eq!(set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as_str(), Some("data"), "{workload}");
        assert_eq!(mount_path(pod_spec(set).unwrap(), "data"), Some(path), "{workload}: the claim holds {path}");
    }
    let args = |v: &Value| -> Vec<String> {
        let all = v.as_sequence().unwrap().iter().filter_map(Value::as_str);
        all.filter(|a| a.starts_with("--storage.tsdb.")).map(str::to_owned).collect()
    };
    let prometheus = pod_spec(find(overlay(), "StatefulSet", "prometheus")).unwrap();
    let kubernetes = args(&prometheus["containers"][0]["args"]);
    assert_eq!(kubernetes, args(&compose()["services"]["prometheus"]["command"]), "TSDB flags as in compose");
    assert!(kubernetes.iter().any(|a| a.starts_with("--storage.tsdb.retention.size=")), "retention bounded by size");
}

#[test]
fn only_the_app_and_the_redis_exporter_reach_redis() {
    let selects_redis = |o: &&Value| {
        kind(o) == "NetworkPolicy" && o["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "redis"
    };
    let mut peers = BTreeSet::new();
    for policy in overlay().iter().filter(selects_redis) {
        for rule in policy["spec"]["ingress"].as_sequence().into_iter().flatten() {
            for peer in rule["from"].as_sequence().expect("no rule admits everyone") {
                assert!(peer["namespaceSelector"].is_null() && peer["ipBlock"].is_null(), "{peer:?}: this namespace");
                peers.insert(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(peers, BTreeSet::from(["web".to_owned(), "redis-exporter".to_owned()]));
    let exporter = &pod_spec(find(overlay(), "Deployment", "redis-exporter")).unwrap()["containers"][0];
    assert_eq!(exporter["image"].as_str(), dotenv().get("REDIS_EXPORTER_IMAGE").map(String::as_str), "compose's image");
}

#[test]
fn the_redis_exporter_has_composes_settings() {
    // With Redis away, a scrape must still answer `redis_up 0` within Prometheus' timeout, here as on compose.
    let exporter = &pod_spec(find(overlay(), "Deployment", "redis-exporter")).unwrap()["containers"][0];
    let settings = |pairs: Vec<(String, String)>| -> BTreeSet<(String, String)> {
        pairs.into_iter().filter(|(k, _)| k.starts_with("REDIS_EXPORTER_")).collect()
    };
    let kubernetes = exporter["env"].as_sequence().expect("env").iter();
    let kubernetes =
        kubernetes.map(|e| (e["name"].as_str().unwrap().to_owned(), e["value"].as_str().unwrap_or("").to_owned()));
    let compose = compose();
    let compose = compose["services"]["redis-exporter"]["environment"].as_mapping().expect("environment").iter();
    let compose = compose.map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap_or("").to_owned()));
    assert_eq!(settings(kubernetes.collect()), settings(compose.collect()), "REDIS_EXPORTER_* as in compose");
}

#[test]
fn promtool_accepts_the_kubernetes_scrape_config_and_the_shared_rules() {
    // Debian's promtool is built without Kubernetes discovery: each job gets a static target instead, so promtool
    // checks the rest (relabelling, rule files); the discovery fields are checked above.
    let mut config = kubernetes_config();
    for job in config["scrape_configs"].as_sequence_mut().unwrap() {
        let job = job.as_mapping_mut().unwrap();
        if job.remove("kubernetes_sd_configs").is_some() {
            job.insert("static_configs".into(), serde_yaml::from_str("[{targets: ['localhost:1']}]").unwrap());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prometheus.yml"), serde_yaml::to_string(&config).unwrap()).unwrap();
    std::os::unix::fs::symlink(root().join("observability/prometheus/rules"), dir.path().join("rules")).unwrap();
    let out = Command::new("promtool").args(["check", "config", "prometheus.yml"]).current_dir(dir.path()).output();
    let out = out.expect("promtool runs (apt-get install prometheus)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("WARNING"), "promtool check config:\n{text}");
    assert!(text.contains("rule files found"), "the shared rules are loaded:\n{text}");
}

/// The app names (`app.kubernetes.io/name`) of the pods a NetworkPolicy's rules (`ingress` or `egress`) name.
fn policy_peers(policy: &Value, direction: &str, side: &str) -> BTreeSet<String> {
    let rules = policy["spec"][direction].as_sequence().into_iter().flatten();
    let peers = rules.flat_map(|r| r[side].as_sequence().cloned().unwrap_or_default());
    peers
        .filter_map(|p| p["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn grafana_runs_composes_image_with_composes_settings() {
    let container = &pod_spec(find(overlay(), "StatefulSet", "grafana")).unwrap()["containers"][0];
    assert_eq!(container["image"].as_str(), dotenv().get("GRAFANA_IMAGE").map(String::as_str), "compose's image");
    let pairs = container["env"].as_sequence().expect("env").iter();
    let kubernetes: BTreeMap<&str, &str> =
        pairs.filter_map(|v| Some((v["name"].as_str()?, v["value"].as_str()?))).collect();
    let compose = compose();
    let environment = compose["services"]["grafana"]["environment"].as_mapping().expect("a mapping").iter();
    let compose: BTreeMap<&str, &str> = environment.filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?))).collect();
    assert_eq!(kubernetes, compose, "the same GF_* settings (Explore for viewers, nothing fetched from outside)");
}

#[test]
fn loki_runs_composes_version_and_only_the_collector_and_grafana_reach_it() {
    let loki = pod_spec(find(overlay(), "StatefulSet", "loki")).unwrap();
    let image = dotenv().get("LOKI_IMAGE").cloned().expect("LOKI_IMAGE in .env");
    assert_eq!(loki["containers"][0]["image"].as_str(), Some(image.as_str()));
    assert_eq!(mount_path(loki, "config"), Some("/etc/loki"));
    let service = find(overlay(), "Service", "loki");
    assert_eq!(service["spec"]["ports"][0]["port"].as_u64(), Some(3100), "the port the datasource and Collector use");

    let policy = find(overlay(), "NetworkPolicy", "loki");
    let admitted = policy_peers(policy, "ingress", "from");
    assert_eq!(admitted, BTreeSet::from(["otel-collector".to_owned(), "grafana".to_owned()]));
    for client in ["otel-collector", "grafana"] {
        let egress = policy_peers(find(overlay(), "NetworkPolicy", client), "egress", "to");
        assert!(egress.contains("loki"), "{client} may reach Loki");
    }
    // What the shared files point at exists here too.
    let collector = std::fs::read_to_string(root().join("observability/otel-collector/config.yaml")).unwrap();
    let datasources =
        std::fs::read_to_string(root().join("observability/grafana/provisioning/datasources/datasources.yaml"))
            .unwrap();
    for (file, text) in [("the Collector's config", &collector), ("Grafana's datasources", &datasources)] {
        assert!(text.contains("http://loki:3100"), "{file} sends to the Service named loki on 3100");
    }
}

#[test]
fn alertmanager_runs_composes_image_and_start_and_only_prometheus_reaches_it() {
    let pod = pod_spec(find(overlay(), "Deployment", "alertmanager")).unwrap();
    let container = &pod["containers"][0];
    let image = dotenv().get("ALERTMANAGER_IMAGE").cloned().expect("ALERTMANAGER_IMAGE in .env");
    assert_eq!(container["image"].as_str(), Some(image.as_str()), "compose's image");
    let service = &compose()["services"]["alertmanager"];
    assert_eq!(container["command"], service["entrypoint"], "compose's start.sh");
    assert_eq!(container["args"], service["command"], "compose's flags");
    assert_eq!(mount_path(pod, "config"), Some("/etc/alertmanager"));
    let url = &container["env"][0];
    assert_eq!(url["name"].as_str(), Some("ALERTMANAGER_WEBHOOK_URL"));
    assert_eq!(url["valueFrom"]["secretKeyRef"]["optional"].as_bool(), Some(true), "no Secret: sent nowhere");

    let service = find(overlay(), "Service", "alertmanager");
    assert_eq!(service["spec"]["ports"][0]["port"].as_u64(), Some(9093), "the port Prometheus sends to");
    let targets = &kubernetes_config()["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"];
    assert_eq!(targets[0].as_str(), Some("alertmanager:9093"));
    let admitted = policy_peers(find(overlay(), "NetworkPolicy", "alertmanager"), "ingress", "from");
    assert_eq!(admitted, BTreeSet::from(["prometheus".to_owned()]));
    let egress = policy_peers(find(overlay(), "NetworkPolicy", "prometheus"), "egress", "to");
    assert!(egress.contains("alertmanager"), "Prometheus may reach Alertmanager");
}
