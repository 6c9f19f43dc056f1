//! docker-compose.yml follows the rules every service must keep (a new service that misses one fails here): a real
//! healthcheck, a restart policy, cpu/memory/pids limits, rotated logs, read-only root, no capabilities,
//! no-new-privileges, a non-root user, healthy-conditioned dependencies and pinned images; plus the network split and
//! the published ports (only NGINX beyond the host's loopback).

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::shipped::{compose, dotenv, root};

fn strings(value: &Value) -> Vec<String> {
    value.as_sequence().map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// Every rule `service` breaks (empty: none).
pub(crate) fn violations(name: &str, service: &Value, all: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut require = |ok: bool, rule: &str| {
        if !ok {
            out.push(format!("{name}: {rule}"));
        }
    };
    let one_shot = service["restart"].as_str() == Some("no");
    let awaited = all["services"]
        .as_mapping()
        .into_iter()
        .flatten()
        .any(|(_, s)| s["depends_on"][name]["condition"].as_str() == Some("service_completed_successfully"));
    require(service["restart"].as_str().is_some(), "a restart policy");
    require(!one_shot || awaited, "a one-shot (restart: no) that others await with service_completed_successfully");
    let test = strings(&service["healthcheck"]["test"]);
    let real_check = matches!(test.first().map(String::as_str), Some("CMD" | "CMD-SHELL")) && test.len() > 1;
    require(real_check || one_shot, "a healthcheck that runs a command");
    let limits = &service["deploy"]["resources"]["limits"];
    require(["cpus", "memory", "pids"].iter().all(|k| !limits[*k].is_null()), "cpus, memory and pids limits");
    let logging = &service["logging"]["options"];
    require(!logging["max-size"].is_null() && !logging["max-file"].is_null(), "log rotation");
    require(service["read_only"].as_bool() == Some(true), "read_only: true");
    require(strings(&service["cap_drop"]) == ["ALL"], "cap_drop: [ALL]");
    require(strings(&service["security_opt"]).contains(&"no-new-privileges:true".into()), "no-new-privileges");
    let user = service["user"].as_str().unwrap_or("root");
    require(!matches!(user.split(':').next(), Some("0" | "root" | "")), "a non-root user");
    for (_, dependency) in service["depends_on"].as_mapping().into_iter().flatten() {
        let condition = dependency["condition"].as_str().unwrap_or("service_started");
        require(condition != "service_started", "depends_on with a health or completion condition");
    }
    if let Some(image) = service["image"].as_str().filter(|_| service["build"].is_null()) {
        let key = image.trim_start_matches("${").trim_end_matches('}');
        let pinned = dotenv().get(key).is_some_and(|i| i.contains(':') && !i.ends_with(":latest"));
        require(pinned, "an image pinned by tag in .env");
    }
    out
}

fn services(compose: &Value) -> Vec<(String, Value)> {
    let services = compose["services"].as_mapping().expect("services");
    services.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone())).collect()
}

#[test]
fn every_service_keeps_the_rules() {
    let compose = compose();
    let broken: Vec<String> = services(&compose).iter().flat_map(|(n, s)| violations(n, s, &compose)).collect();
    assert!(broken.is_empty(), "{broken:#?}");
    let names: BTreeSet<String> = services(&compose).into_iter().map(|(n, _)| n).collect();
    for expected in [
        "web",
        "nginx",
        "redis",
        "otel-collector",
        "jaeger",
        "prometheus",
        "grafana",
        "loki",
        "redis-exporter",
        "nginx-exporter",
    ] {
        assert!(names.contains(expected), "service {expected}");
    }
}

#[test]
fn a_service_without_healthcheck_or_limits_is_caught() {
    let compose = compose();
    let mut careless = compose["services"]["redis"].clone();
    careless.as_mapping_mut().unwrap().remove("healthcheck");
    careless.as_mapping_mut().unwrap().remove("deploy");
    let found = violations("careless", &careless, &compose);
    assert!(found.iter().any(|v| v.contains("healthcheck")) && found.iter().any(|v| v.contains("limits")), "{found:?}");
}

/// Which services are on each network.
pub(crate) fn members(compose: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, service) in services(compose) {
        for network in strings(&service["networks"]) {
            members.entry(network).or_default().insert(name.clone());
        }
    }
    members
}

#[test]
fn only_web_reaches_redis_and_nginx_reaches_only_web() {
    let compose = compose();
    // Each exporter shares a network of its own with what it watches, and nothing else.
    let pair = |a: &str, b: &str| BTreeSet::from([a.to_owned(), b.to_owned()]);
    for (network, members) in members(&compose) {
        if members.contains("redis") {
            assert!(members == pair("redis", "web") || members == pair("redis", "redis-exporter"), "network {network}");
        }
        if members.contains("nginx") {
            let only_web = members.iter().all(|m| m == "nginx" || m == "web");
            // The load generator (profile load) serves nothing: on `traffic` it is one more client of NGINX.
            let client = network == "traffic" && members == pair("nginx", "load");
            assert!(only_web || client || members == pair("nginx", "nginx-exporter"), "network {network}: {members:?}");
        }
    }
    let redis = &compose["services"]["redis"];
    assert!(redis["ports"].is_null(), "redis is never published");
    // AOF, fsync and memory policy live in redis/redis.conf (tests/twin/redis_config.rs): compose passes no flags.
    assert_eq!(strings(&redis["command"]), ["redis-server", "/usr/local/etc/redis/redis.conf"], "the shipped config");
    let mount = "./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro";
    assert!(strings(&redis["volumes"]).contains(&mount.into()), "redis/redis.conf mounted read-only");
    assert_eq!(redis["working_dir"].as_str(), Some("/data"), "redis.conf's `dir ./` is the volume");
    assert!(strings(&redis["volumes"]).contains(&"redis-data:/data".into()), "data on the named volume");
    assert!(compose["services"]["web"]["ports"].is_null(), "replicas are reached through NGINX only");
    assert_eq!(strings(&compose["services"]["nginx"]["ports"]), ["5002:5002", "5443:5443"], "no status port");
}

#[test]
fn every_variable_compose_and_the_dockerfile_use_is_pinned_once_in_dotenv() {
    let env = dotenv();
    let compose = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    for reference in compose.split("${").skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)) {
        // `${LOAD_RATE:-4}`: a setting of the load service, its default in place and nowhere else.
        if let Some((name, _)) = reference.split_once(":-") {
            assert!(name.starts_with("LOAD_") && !env.contains_key(name), "${{{reference}}}: a pin belongs in .env");
            continue;
        }
        assert!(env.contains_key(reference), "${{{reference}}} is not set in .env");
    }
    // The Dockerfile's ARG defaults (used by a plain `docker build`) must not drift from .env (used by compose).
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for (name, default) in dockerfile.lines().filter_map(|l| l.strip_prefix("ARG ")?.split_once('=')) {
        assert_eq!(env.get(name).map(String::as_str), Some(default), "ARG {name} differs from .env");
    }
    assert!(env.values().all(|v| !v.ends_with(":latest")), "no :latest in .env");
}

/// The Dockerfile's `RUN` instructions, continuation lines joined.
fn dockerfile_runs() -> Vec<String> {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let mut runs = Vec::new();
    let mut current: Option<String> = None;
    for line in dockerfile.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(run) = current.as_mut() {
            run.push(' ');
            run.push_str(line.trim().trim_end_matches('\\'));
        } else if line.starts_with("RUN ") {
            current = Some(line.trim_end_matches('\\').to_owned());
        }
        if !line.trim_end().ends_with('\\') {
            runs.extend(current.take());
        }
    }
    runs
}

#[test]
fn an_image_never_ships_a_stale_build_from_the_cached_target_dir() {
    // The target/ cache mount outlives the context: cargo, judging the workspace's crates by mtime, would take a
    // context older than the last build for up to date (seen: the load image failed to build against stale harness
    // code). Every cached cargo build first makes the workspace's sources newer than any output.
    let cached: Vec<String> = dockerfile_runs()
        .into_iter()
        .filter(|r| r.contains("target=/src/target") && r.contains("cargo build"))
        .collect();
    assert!(cached.len() >= 2, "the web and load builds: {cached:?}");
    for run in cached {
        let touch = run.find("find src harness xtask -name '*.rs' -exec touch {} +");
        assert!(touch.is_some_and(|t| t < run.find("cargo build").unwrap()), "touch the sources before: {run}");
    }
}

/// Whether a `ports` entry (short `[ip:]host:container` or long syntax with `host_ip`) binds the host's loopback only;
/// without an address Docker binds every interface.
fn loopback_only(port: &Value) -> bool {
    let ip = match port.as_str() {
        Some(short) => {
            let parts: Vec<&str> = short.rsplitn(3, ':').collect();
            (parts.len() == 3).then(|| parts[2].trim_start_matches('[').trim_end_matches(']').to_owned())
        }
        None => port["host_ip"].as_str().map(str::to_owned),
    };
    ip.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()).is_some_and(|ip| ip.is_loopback())
}

#[test]
fn only_nginx_publishes_beyond_loopback_and_the_uis_are_published_on_it() {
    let compose = compose();
    let mut beyond_loopback = BTreeSet::new();
    for (name, service) in services(&compose) {
        if service["ports"].as_sequence().into_iter().flatten().any(|p| !loopback_only(p)) {
            beyond_loopback.insert(name);
        }
    }
    assert_eq!(beyond_loopback, BTreeSet::from(["nginx".to_owned()]), "services reachable from other hosts");
    // Jaeger, Prometheus and Grafana (anonymous viewers on) have no authentication: reachable from this host only.
    for (service, port) in [("jaeger", 16686), ("prometheus", 9090), ("alertmanager", 9093), ("grafana", 3000)] {
        assert_eq!(strings(&compose["services"][service]["ports"]), [format!("127.0.0.1:{port}:{port}")], "{service}");
    }
    // The check can fail: no address, every interface, or a non-loopback address in either syntax.
    for open in ["9090:9090", "9090", "0.0.0.0:9090:9090", "[::]:9090:9090", "192.0.2.1:9090:9090"] {
        assert!(!loopback_only(&Value::from(open)), "{open}");
    }
    let long: Value = serde_yaml::from_str("{target: 9090, published: 9090}").unwrap();
    assert!(!loopback_only(&long));
    let long: Value = serde_yaml::from_str("{target: 9090, published: 9090, host_ip: 127.0.0.1}").unwrap();
    assert!(loopback_only(&long) && loopback_only(&Value::from("[::1]:9090:9090")));
}

/// A tmpfs over a directory the image already has keeps that directory's owner and mode (runc), so for a non-root
/// service anything but /tmp (1777 everywhere) must be mounted for its uid: NGINX crash-looped on compose without
/// `uid=101,gid=101` ("/etc/nginx/conf.d is not writable", `mkdir() "/var/cache/nginx/client_temp" failed (13)`).
/// The acceptance suite (tests/compose) proves the result at run time; this names the rule.
#[test]
fn every_tmpfs_but_tmp_belongs_to_the_services_user() {
    let mut wrong = Vec::new();
    for (name, service) in services(&compose()) {
        let user = service["user"].as_str().unwrap_or_default();
        let (uid, gid) = user.split_once(':').unwrap_or((user, user));
        for mount in strings(&service["tmpfs"]) {
            let (path, options) = mount.split_once(':').unwrap_or((&mount, ""));
            let owned = options.split(',').any(|o| o == format!("uid={uid}"))
                && options.split(',').any(|o| o == format!("gid={gid}"));
            if path != "/tmp" && !owned {
                wrong.push(format!("{name}: {mount} (user {user})"));
            }
        }
    }
    assert!(wrong.is_empty(), "tmpfs mounts a non-root user cannot write: {wrong:?}");
    assert!(strings(&compose()["services"]["nginx"]["tmpfs"]).contains(&"/var/cache/nginx:uid=101,gid=101".to_owned()));
}
