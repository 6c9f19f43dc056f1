//! The shipped Prometheus configuration and rules (`observability/prometheus/`), checked by the real `promtool`
//! (Debian's, 2.42): the config and every rule file are valid, the rule unit tests pass, every alert carries a summary,
//! a description and a runbook that exists in the repository, and the unit tests make every alert both fire and stay
//! silent.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use serde_yaml::Value;

use crate::shipped::root;

fn prometheus_dir() -> PathBuf {
    root().join("observability").join("prometheus")
}

/// `*.yml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
}

fn promtool(args: &[&str], files: &[PathBuf]) {
    let out = Command::new("promtool")
        .args(args)
        .args(files)
        .current_dir(prometheus_dir())
        .output()
        .expect("promtool runs (apt-get install prometheus)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    assert!(!text.contains("WARNING"), "promtool {args:?} warns:\n{text}");
}

fn yaml(path: &Path) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("readable")).expect("valid YAML")
}

/// Every alerting rule of the shipped rule files.
fn alerts() -> Vec<Value> {
    let rules = yaml_files(&prometheus_dir().join("rules")).iter().map(|f| yaml(f)).collect::<Vec<_>>();
    let groups = rules.iter().flat_map(|r| r["groups"].as_sequence().cloned().unwrap_or_default());
    groups
        .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
        .filter(|r| r["alert"].is_string())
        .collect()
}

#[test]
fn promtool_finds_the_config_and_every_rule_file_clean() {
    promtool(&["check", "config"], &[prometheus_dir().join("prometheus.yml")]);
    promtool(&["check", "rules"], &yaml_files(&prometheus_dir().join("rules")));
}

#[test]
fn the_rule_unit_tests_pass() {
    promtool(&["test", "rules"], &yaml_files(&prometheus_dir().join("tests")));
}

#[test]
fn every_alert_has_a_summary_a_description_a_runbook_in_the_repository_and_the_dashboard() {
    let alerts = alerts();
    // The dashboard link every notification carries: Grafana on the host's loopback, the dashboard by its uid.
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("dashboards/visit-counter.json")).unwrap()).unwrap();
    let dashboard_url = format!("http://localhost:3000/d/{}", dashboard["uid"].as_str().unwrap());
    assert!(alerts.len() >= 10, "the SLO and blind alerts: {}", alerts.len());
    for alert in alerts {
        let name = alert["alert"].as_str().unwrap();
        let annotations = &alert["annotations"];
        for key in ["summary", "description"] {
            assert!(annotations[key].as_str().is_some_and(|s| s.len() > 20), "{name}: {key}");
        }
        let runbook = annotations["runbook_url"].as_str().unwrap_or_else(|| panic!("{name}: runbook_url"));
        assert_eq!(runbook, format!("docs/runbooks/{name}.md"), "{name}: the runbook is named after the alert");
        assert!(root().join(runbook).is_file(), "{name}: {runbook} exists");
        assert_eq!(annotations["dashboard_url"].as_str(), Some(dashboard_url.as_str()), "{name}: dashboard_url");
        assert!(alert["labels"]["severity"].as_str().is_some_and(|s| s == "page" || s == "ticket"), "{name}: severity");
    }
}

#[test]
fn the_unit_tests_make_every_alert_fire_and_stay_silent() {
    let (mut fired, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for file in yaml_files(&prometheus_dir().join("tests")) {
        for test in yaml(&file)["tests"].as_sequence().cloned().unwrap_or_default() {
            for case in test["alert_rule_test"].as_sequence().cloned().unwrap_or_default() {
                let name = case["alertname"].as_str().unwrap().to_owned();
                let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
                if expected > 0 {
                    fired.insert(name)
                } else {
                    silent.insert(name)
                };
            }
        }
    }
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        assert!(fired.contains(name), "no unit test makes {name} fire");
        assert!(silent.contains(name), "no unit test keeps {name} silent");
    }
}
