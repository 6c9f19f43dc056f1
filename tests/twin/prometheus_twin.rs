//! The real Prometheus on the native twin, started from the shipped config and rules (`harness::prometheus`): the
//! twin's override touches nothing but target lists, every target is up, and under a little load every recording
//! rule produces a series and no rule fails to evaluate. And the Redis exporter's ACL user: every command of a
//! scrape allowed, nothing that writes.

use harness::prometheus::{self, DISCOVERY_KEYS, DROPPED, OVERRIDDEN, Targets};
use serde_yaml::Value as Yaml;

use harness::{
    exporters::{Exporter, RedisLogin},
    init::Credentials,
    redis::{Acl, Redis},
};

use crate::{
    helpers::heavy_load,
    prometheus_api::{Api, background_load},
    stack::{ROOMY, TestStack, spawn_monitored_stack, spawn_stack, spawn_stack_with},
};

/// The config with the target lists (and the jobs only a Collector serves) set aside.
fn without_targets(mut config: Yaml) -> Yaml {
    let jobs = config["scrape_configs"].as_sequence_mut().unwrap();
    jobs.retain(|job| !DROPPED.contains(&job["job_name"].as_str().unwrap()));
    for job in jobs.iter_mut() {
        DISCOVERY_KEYS.iter().for_each(|k| drop(job.as_mapping_mut().unwrap().remove(*k)));
    }
    config
}

#[test]
fn the_twin_override_replaces_target_lists_only_and_copies_the_rules_unchanged() {
    let targets = Targets(OVERRIDDEN.iter().map(|job| (job.to_string(), vec![1234])).collect());
    let shipped = prometheus::shipped().unwrap();
    let jobs: Vec<&str> =
        shipped["scrape_configs"].as_sequence().unwrap().iter().map(|j| j["job_name"].as_str().unwrap()).collect();
    assert_eq!(
        jobs.len(),
        OVERRIDDEN.len() + DROPPED.len(),
        "every shipped job is either overridden or dropped: {jobs:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let rendered = prometheus::render(dir.path(), &targets).unwrap();
    let rendered: Yaml = serde_yaml::from_str(&std::fs::read_to_string(rendered).unwrap()).unwrap();

    assert_eq!(without_targets(rendered.clone()), without_targets(shipped), "only target lists differ");
    for job in rendered["scrape_configs"].as_sequence().unwrap() {
        assert_eq!(job["static_configs"][0]["targets"][0], "127.0.0.1:1234", "{job:?}");
    }
    for entry in std::fs::read_dir(prometheus::shipped_dir().join("rules")).unwrap().map(Result::unwrap) {
        let copy = std::fs::read(dir.path().join("rules").join(entry.file_name())).unwrap();
        assert_eq!(copy, std::fs::read(entry.path()).unwrap(), "{:?} copied byte for byte", entry.file_name());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_twin_every_target_is_up_and_every_recording_rule_produces_a_series() {
    // Prometheus starting and a background load: kept apart from the exactness tests, like other loads.
    let _heavy = heavy_load().await;
    let t = spawn_monitored_stack(2);
    let api = Api::of(&t);
    let _load = background_load(&t);

    let targets = api.poll("every target up", |api| async move {
        let active = api.get("/api/v1/targets").await?["activeTargets"].as_array()?.clone();
        // Two replicas, both exporters and Prometheus itself: discovered (not an empty list) and all up.
        (active.len() == 5 && active.iter().all(|t| t["health"] == "up")).then_some(active)
    });
    let targets = targets.await;
    let jobs: Vec<&str> = targets.iter().filter_map(|t| t["labels"]["job"].as_str()).collect();
    assert_eq!(jobs.iter().filter(|j| **j == "web").count(), 2, "both replicas are scraped: {jobs:?}");
    for job in ["redis", "nginx", "prometheus"] {
        assert!(jobs.contains(&job), "{job} is scraped: {jobs:?}");
    }

    let groups = api.rule_groups().await;
    assert!(groups.iter().all(|g| g["interval"].as_f64() == Some(15.0)), "every group at the global interval");
    let recording = groups.iter().flat_map(|g| g["rules"].as_array().unwrap()).filter(|r| r["type"] == "recording");
    for name in recording.map(|r| r["name"].as_str().unwrap()) {
        api.poll(&format!("a series from {name}"), |api| async move {
            (!api.query(name).await?.as_array()?.is_empty()).then_some(())
        })
        .await;
    }
    for group in api.rule_groups().await {
        for rule in group["rules"].as_array().unwrap() {
            assert_ne!(rule["health"], "err", "{}: {}", rule["name"], rule["lastError"]);
            assert!(
                rule["lastError"].as_str().unwrap_or_default().is_empty(),
                "{}: {}",
                rule["name"],
                rule["lastError"]
            );
        }
    }
}

/// What redis_exporter sends at a scrape with compose's (default) flags, read in its source (v1.86:
/// `exporter/exporter.go`, `latency.go`, `slowlog.go`). Debian's 1.45 sends all but LATENCY HISTOGRAM (since 1.48).
const EXPORTER_SCRAPE: [&[&str]; 8] = [
    &["CLIENT", "SETNAME", "redis_exporter"],
    &["INFO", "ALL"],
    &["CONFIG", "GET", "*"],
    &["LATENCY", "LATEST"],
    &["LATENCY", "HISTOGRAM"],
    &["SLOWLOG", "LEN"],
    &["SLOWLOG", "GET", "1"],
    &["PING"],
];

fn exporter_login(t: &TestStack) -> Redis {
    let dir = t.stack.dir.join("credentials");
    let password = std::fs::read_to_string(dir.join("exporter").join("exporter.password")).unwrap().trim().to_owned();
    let acl = Acl { file: dir.join("redis").join("users.acl"), user: Credentials::EXPORTER_USER.into(), password };
    Redis::attach(t.stack.redis.port(), &dir, Some(acl))
}

#[test]
fn the_redis_exporters_user_may_run_every_command_of_a_scrape_and_nothing_that_writes() {
    let t = spawn_stack(1);
    let exporter = exporter_login(&t);

    for command in EXPORTER_SCRAPE {
        exporter.cli(command).unwrap_or_else(|e| panic!("{command:?}: {e}"));
    }
    assert!(exporter.cli(&["INFO", "server"]).unwrap().contains("redis_version"));
    let denied: [&[&str]; 8] = [
        &["GET", "visits"],
        &["INCR", "visits"],
        &["FLUSHALL"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["LATENCY", "RESET"],
        &["SLOWLOG", "RESET"],
        &["CONFIG", "RESETSTAT"],
        &["CLIENT", "KILL", "TYPE", "normal"],
    ];
    for command in denied {
        let reply = exporter.cli(command).expect_err("denied");
        assert!(reply.contains("NOPERM"), "{command:?}: {reply}");
    }
    assert_eq!(t.stack.counter().unwrap(), 0, "the denied commands changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_exporter_scrapes_without_a_permission_error_and_reports_command_latency() {
    let t = spawn_stack_with(1, &ROOMY);
    assert_eq!(t.count().await.0, reqwest::StatusCode::OK, "an INCR to measure");
    let login = RedisLogin {
        port: t.stack.redis.port(),
        user: Credentials::EXPORTER_USER,
        password_file: &t.stack.dir.join("credentials").join("exporter").join("exporter.password"),
    };
    let logs = tempfile::tempdir().unwrap();
    let exporter = Exporter::redis(logs.path(), harness::ports::free_port(), &login).expect("redis_up 1");

    let scrape = || harness::http::get(exporter.port, "/metrics").map(|(_, body)| body).unwrap_or_default();
    let (first, second) = (scrape(), scrape());
    let log = std::fs::read_to_string(logs.path().join("redis-exporter.log")).unwrap();

    assert!(!log.contains("NOPERM") && !log.contains("level=error"), "the exporter's log:\n{log}");
    for metrics in [first, second] {
        // INFO's latencystats (Redis >= 7.0); the exporter >= 1.48 adds `redis_commands_latencies_usec`.
        assert!(metrics.contains(r#"redis_latency_percentiles_usec{cmd="incr",quantile="#), "{metrics}");
    }
}
