//! The real Prometheus on the native twin, started from the shipped config and rules (`xtask::prometheus`): the
//! twin's override touches nothing but target lists, every target is up, and under a little load every recording
//! rule produces a series and no rule fails to evaluate.

use serde_yaml::Value as Yaml;
use xtask::prometheus::{self, DISCOVERY_KEYS, DROPPED, OVERRIDDEN, Targets};

use xtask::{
    init::Credentials,
    redis::{Acl, Redis},
};

use crate::{
    helpers::heavy_load,
    prometheus_api::{Api, background_load},
    stack::{spawn_monitored_stack, spawn_stack},
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

#[test]
fn the_redis_exporters_user_reads_server_state_and_nothing_else() {
    let t = spawn_stack(1);
    let dir = t.stack.dir.join("credentials");
    let password = std::fs::read_to_string(dir.join("exporter").join("exporter.password")).unwrap().trim().to_owned();
    let acl = Acl { file: dir.join("redis").join("users.acl"), user: Credentials::EXPORTER_USER.into(), password };
    let exporter = Redis::attach(t.stack.redis.port(), &dir, Some(acl));

    assert!(exporter.cli(&["INFO", "server"]).unwrap().contains("redis_version"));
    assert!(exporter.cli(&["CONFIG", "GET", "maxmemory"]).unwrap().contains("maxmemory"));
    for denied in [&["GET", "visits"][..], &["INCR", "visits"], &["FLUSHALL"], &["CONFIG", "SET", "maxmemory", "1"]] {
        let reply = exporter.cli(denied).expect_err("denied");
        assert!(reply.contains("NOPERM"), "{denied:?}: {reply}");
    }
    assert_eq!(t.stack.counter().unwrap(), 0, "the denied commands changed nothing");
}
