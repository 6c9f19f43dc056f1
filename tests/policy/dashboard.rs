//! The Grafana dashboards (`dashboards/*.json`) against the provisioning: every datasource uid they name is
//! provisioned, every panel and query names its datasource by uid, and exemplars link to Jaeger. That their queries
//! return data is tests/twin/dashboard.rs, on the twin's Prometheus.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::shipped::{dashboards, panels, root};

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
