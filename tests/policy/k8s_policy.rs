//! The Kubernetes manifests (deploy/k8s) keep the rules every workload must keep, checked on what `kubectl kustomize`
//! renders for the base and every overlay, so a new workload that misses one fails here: probes on every container
//! that serves, cpu/memory requests and limits, non-root, read-only root, no privilege escalation, no capabilities,
//! the RuntimeDefault seccomp profile, pinned images; Secrets only from generators, none committed. Plus the
//! guarantees compose gives: rolling updates without lost capacity, a drain shorter than the grace period, AOF with
//! fsync always on a volume, the never-retry-/count rule and only the app reaching Redis; and the telemetry
//! ConfigMaps hold the very bytes of the files compose mounts (Prometheus: its Kubernetes scrape config, kept in the
//! same directory; checked in `observability`, with discovery, storage and the Redis exporter), read through copies
//! under deploy/k8s that equal their sources (`copies`): every kustomization renders without flags.
//! Schema validation of the same objects runs in scripts/k8s-checks.sh.

mod copies;
mod observability;

use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::Value;

use crate::shipped::root;

/// What `kubectl kustomize` renders for each kustomization, as (directory, objects); rendered once per test binary
/// (the credentials script must not run twice at once).
fn rendered() -> &'static Vec<(String, Vec<Value>)> {
    static RENDERED: OnceLock<Vec<(String, Vec<Value>)>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let status = Command::new(root().join("scripts/k8s-credentials.sh")).output().expect("k8s-credentials.sh");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let dirs = ["deploy/k8s/base", "deploy/k8s/observability", "deploy/k8s/overlays/local"];
        dirs.iter().map(|dir| (dir.to_string(), render(dir))).collect()
    })
}

fn render(dir: &str) -> Vec<Value> {
    let output = Command::new("kubectl")
        // No flags: what `kubectl apply -k` renders.
        .args(["kustomize", dir])
        .current_dir(root())
        .output()
        .expect("kubectl is needed to render deploy/k8s (scripts/test.sh checks for it)");
    assert!(output.status.success(), "kubectl kustomize {dir}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    serde_yaml::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).expect("valid YAML")).collect()
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or("")
}

fn name(object: &Value) -> String {
    format!("{}/{}", kind(object), object["metadata"]["name"].as_str().unwrap_or("?"))
}

/// The pod spec of a workload, if `object` is one.
fn pod_spec(object: &Value) -> Option<&Value> {
    match kind(object) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some(&object["spec"]["template"]["spec"]),
        "CronJob" => Some(&object["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Pod" => Some(&object["spec"]),
        _ => None,
    }
}

/// Every rule the workload `object` breaks (empty: none, or not a workload).
pub(crate) fn violations(object: &Value) -> Vec<String> {
    let Some(pod) = pod_spec(object) else { return Vec::new() };
    let mut out = Vec::new();
    let workload = name(object);
    let pod_security = &pod["securityContext"];
    let containers =
        ["initContainers", "containers"].into_iter().flat_map(|k| pod[k].as_sequence().cloned().unwrap_or_default());
    for container in containers {
        let mut require = |ok: bool, rule: &str| {
            if !ok {
                out.push(format!("{workload} {}: {rule}", container["name"].as_str().unwrap_or("?")));
            }
        };
        let security = &container["securityContext"];
        let set = |key: &str| if security[key].is_null() { &pod_security[key] } else { &security[key] };
        require(set("runAsNonRoot").as_bool() == Some(true), "runAsNonRoot: true");
        require(set("seccompProfile")["type"].as_str() == Some("RuntimeDefault"), "seccompProfile RuntimeDefault");
        require(security["allowPrivilegeEscalation"].as_bool() == Some(false), "allowPrivilegeEscalation: false");
        require(security["readOnlyRootFilesystem"].as_bool() == Some(true), "readOnlyRootFilesystem: true");
        let drop: Vec<&str> =
            security["capabilities"]["drop"].as_sequence().into_iter().flatten().filter_map(Value::as_str).collect();
        require(drop == ["ALL"], "capabilities drop [ALL]");
        let resources = &container["resources"];
        let complete =
            ["requests", "limits"].iter().all(|k| ["cpu", "memory"].iter().all(|r| !resources[*k][*r].is_null()));
        require(complete, "cpu and memory requests and limits");
        let serves = container["ports"].as_sequence().is_some_and(|p| !p.is_empty());
        let probed = ["livenessProbe", "readinessProbe"].iter().all(|p| container[*p].is_mapping());
        require(!serves || probed, "liveness and readiness probes (it serves a port)");
        let image = container["image"].as_str().unwrap_or("");
        let tag = image.rsplit('/').next().and_then(|last| last.split_once(':')).map(|(_, tag)| tag);
        require(image.contains("@sha256:") || tag.is_some_and(|t| t != "latest"), "an image pinned by tag or digest");
    }
    out
}

fn objects() -> impl Iterator<Item = (&'static str, &'static Value)> {
    rendered().iter().flat_map(|(dir, objects)| objects.iter().map(move |o| (dir.as_str(), o)))
}

fn find<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> &'a Value {
    let found = objects.iter().find(|o| kind(o) == kind_ && o["metadata"]["name"].as_str() == Some(name_));
    found.unwrap_or_else(|| panic!("{kind_}/{name_} is rendered"))
}

#[test]
fn every_workload_keeps_the_rules() {
    let broken: Vec<String> =
        objects().flat_map(|(dir, o)| violations(o).into_iter().map(move |v| format!("{dir}: {v}"))).collect();
    assert!(broken.is_empty(), "{broken:#?}");
    let workloads = objects().filter(|(_, o)| pod_spec(o).is_some()).count();
    assert!(workloads >= 4, "web and redis in base and overlay, found {workloads}");
}

#[test]
fn a_workload_without_probes_limits_or_hardening_is_caught() {
    let (_, objects) = &rendered()[0];
    let mut careless = find(objects, "Deployment", "web").clone();
    let container = &mut careless["spec"]["template"]["spec"]["containers"][0];
    let fields = container.as_mapping_mut().unwrap();
    for key in ["livenessProbe", "resources", "securityContext"] {
        fields.remove(key);
    }
    container["image"] = "visit-counter:latest".into();
    let found = violations(&careless).join("\n");
    for rule in ["probes", "limits", "readOnlyRootFilesystem", "capabilities", "pinned"] {
        assert!(found.contains(rule), "{rule} not caught in:\n{found}");
    }
}

#[test]
fn secrets_come_from_generators_and_none_is_committed() {
    for (dir, secret) in objects().filter(|(_, o)| kind(o) == "Secret") {
        let name = secret["metadata"]["name"].as_str().unwrap_or("");
        let suffix = name.rsplit_once('-').map(|(_, s)| s).unwrap_or("");
        assert!(
            suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_alphanumeric()),
            "{dir}: {name} has no generator hash"
        );
    }
    let tracked = Command::new("git").args(["ls-files", "deploy/k8s"]).current_dir(root()).output().expect("git");
    for path in String::from_utf8_lossy(&tracked.stdout).lines() {
        assert!(!path.contains("/credentials/"), "{path}: generated credentials are committed");
        let text = std::fs::read_to_string(root().join(path)).unwrap_or_default();
        assert!(!text.lines().any(|l| l.trim() == "kind: Secret"), "{path}: a Secret written by hand");
    }
    let generated = [
        "deploy/k8s/base/credentials/web/web.password",
        "deploy/k8s/observability/credentials/grafana/admin.password",
        "deploy/k8s/observability/credentials/redis-exporter/exporter.password",
    ];
    for generated in generated {
        let ignored =
            Command::new("git").args(["check-ignore", "-q", generated]).current_dir(root()).status().expect("git");
        assert!(ignored.success(), "{generated} must be gitignored");
    }
}

fn env(container: &Value, key: &str) -> Option<u64> {
    let vars = container["env"].as_sequence()?;
    vars.iter().find(|v| v["name"].as_str() == Some(key))?["value"].as_str()?.parse().ok()
}

#[test]
fn the_app_rolls_without_losing_capacity_and_drains_before_the_kill() {
    let (_, objects) = &rendered()[0];
    let web = find(objects, "Deployment", "web");
    assert_eq!(web["spec"]["replicas"].as_u64(), Some(3));
    assert_eq!(web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as_u64(), Some(0));
    let pod = &web["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"].as_str(), Some("/healthz"));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"].as_str(), Some("/readyz"));
    assert!(container["startupProbe"].is_mapping(), "a startup probe");
    // preStop sleep + SHUTDOWN_GRACE_SECS + at most 3 s of span flush must end before the SIGKILL.
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap_or(0);
    let drain = env(container, "SHUTDOWN_GRACE_SECS").expect("SHUTDOWN_GRACE_SECS");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().expect("terminationGracePeriodSeconds");
    assert!(grace > pre_stop + drain + 3, "{grace} s <= {pre_stop} + {drain} + 3 s");
    for kind_ in ["Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"] {
        find(objects, kind_, "web");
    }
    let hpa = find(objects, "HorizontalPodAutoscaler", "web");
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["name"].as_str(), Some("cpu"));
}

#[test]
fn redis_keeps_every_acknowledged_count_and_only_the_app_reaches_it() {
    let (_, objects) = &rendered()[0];
    let redis = find(objects, "StatefulSet", "redis");
    let container = &redis["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(args, ["redis-server", "/usr/local/etc/redis/redis.conf"], "the shipped config, no flags");
    assert_eq!(container["workingDir"].as_str(), Some("/data"), "redis.conf's `dir ./` is the volume");
    let mounted = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"].as_str() == Some("/usr/local/etc/redis") && m["readOnly"].as_bool() == Some(true));
    assert!(mounted, "the config is mounted read-only where compose mounts it");
    let map = objects.iter().find(|o| kind(o) == "ConfigMap" && name(o).starts_with("ConfigMap/redis-config-"));
    let shipped = std::fs::read_to_string(root().join("redis/redis.conf")).expect("redis/redis.conf");
    assert_eq!(map.expect("ConfigMap redis-config")["data"]["redis.conf"].as_str(), Some(shipped.as_str()));
    assert!(shipped.lines().any(|l| l == "appendfsync always"), "fsync before replying");
    assert_eq!(redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as_str(), Some("data"), "/data on a PVC");
    let policy = find(objects, "NetworkPolicy", "redis");
    let from = &policy["spec"]["ingress"];
    assert_eq!(from.as_sequence().map(Vec::len), Some(1), "one ingress rule");
    assert_eq!(from[0]["from"].as_sequence().map(Vec::len), Some(1), "one peer");
    assert_eq!(from[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str(), Some("web"));
    let deny = find(objects, "NetworkPolicy", "default-deny");
    assert!(deny["spec"]["podSelector"].as_mapping().is_some_and(|m| m.is_empty()), "default deny selects every pod");
}

#[test]
fn count_is_never_retried_by_the_ingress_nor_any_answer_of_the_app() {
    let (_, objects) = &rendered()[0];
    let ingresses: Vec<&Value> = objects.iter().filter(|o| kind(o) == "Ingress").collect();
    let serves_count = |i: &&&Value| {
        let paths = i["spec"]["rules"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|r| r["http"]["paths"].as_sequence().cloned().unwrap_or_default());
        paths.into_iter().any(|p| p["path"].as_str() == Some("/count") && p["pathType"].as_str() == Some("Exact"))
    };
    let count: Vec<&&Value> = ingresses.iter().filter(serves_count).collect();
    assert_eq!(count.len(), 1, "one Ingress routes /count exactly");
    let annotations = &count[0]["metadata"]["annotations"];
    assert_eq!(annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"].as_str(), Some("off"));
    // The rest, as nginx/templates: an answer of the app (503: Redis, shared by all replicas) is never retried.
    let others: Vec<&&Value> = ingresses.iter().filter(|i| !serves_count(i)).collect();
    assert!(!others.is_empty(), "an Ingress for the other routes");
    for other in others {
        let retry = other["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-next-upstream"].as_str();
        assert_eq!(retry, Some("error timeout"), "{:?}", other["metadata"]["name"]);
    }
}

#[test]
fn telemetry_config_maps_hold_the_files_compose_mounts_byte_for_byte() {
    let (_, objects) = &rendered()[1];
    let expected = [
        ("otel-collector-config", "config.yaml", "observability/otel-collector/config.yaml"),
        ("jaeger-config", "config.yaml", "observability/jaeger/config.yaml"),
        ("loki-config", "config.yaml", "observability/loki/config.yaml"),
        ("prometheus-config", "prometheus.yml", "observability/prometheus/prometheus-kubernetes.yml"),
        ("prometheus-rules", "blind.yml", "observability/prometheus/rules/blind.yml"),
        ("prometheus-rules", "slo-count.yml", "observability/prometheus/rules/slo-count.yml"),
        ("prometheus-rules", "redis.yml", "observability/prometheus/rules/redis.yml"),
        ("alertmanager-config", "alertmanager.yml", "observability/alertmanager/alertmanager.yml"),
        ("alertmanager-config", "start.sh", "observability/alertmanager/start.sh"),
        ("grafana-datasources", "datasources.yaml", "observability/grafana/provisioning/datasources/datasources.yaml"),
        (
            "grafana-dashboard-provider",
            "dashboards.yaml",
            "observability/grafana/provisioning/dashboards/dashboards.yaml",
        ),
        ("grafana-dashboards", "visit-counter.json", "dashboards/visit-counter.json"),
    ];
    let maps: Vec<&Value> = objects.iter().filter(|o| kind(o) == "ConfigMap").collect();
    for (prefix, key, path) in expected {
        let generated =
            |m: &&&Value| m["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(&format!("{prefix}-")));
        let map = maps.iter().find(generated).unwrap_or_else(|| panic!("ConfigMap {prefix} is generated"));
        let file = std::fs::read_to_string(root().join(path)).expect(path);
        assert_eq!(map["data"][key].as_str(), Some(file.as_str()), "{prefix}/{key} differs from {path}");
    }
    let rules = std::fs::read_dir(root().join("observability/prometheus/rules")).unwrap();
    let rule_files = rules.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "yml")).count();
    let mapped =
        maps.iter().find(|m| m["metadata"]["name"].as_str().unwrap().starts_with("prometheus-rules-")).unwrap();
    assert_eq!(
        mapped["data"].as_mapping().map(|m| m.len()),
        Some(rule_files),
        "every rule file is in prometheus-rules"
    );
}
