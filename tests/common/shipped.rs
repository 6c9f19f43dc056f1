//! The shipped files as the tests read them: the compose file, `.env`, the Collector's YAML configs, the dashboards.
//! Shared by the policy and twin binaries, each using part of it.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_yaml::Value;

/// The compose file with `<<` merge keys applied, as compose reads it.
pub(crate) fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).expect("docker-compose.yml");
    let mut value: Value = serde_yaml::from_str(&text).expect("valid YAML");
    value.apply_merge().expect("merge keys");
    value
}

/// The workspace root, where every shipped file is.
pub(crate) fn root() -> std::path::PathBuf {
    harness::paths::workspace_root()
}

/// `.env` as key -> value (compose interpolates `${VAR}` from it).
pub(crate) fn dotenv() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join(".env")).expect(".env");
    let pairs = text.lines().filter(|l| !l.trim_start().starts_with('#')).filter_map(|l| l.split_once('='));
    pairs.map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect()
}

/// A YAML file of the repository, parsed.
pub(crate) fn config(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Prometheus names of the series the spanmetrics connector exports, from its settings: the namespace
/// (default `traces.span.metrics`) with dots as underscores, `_calls_total`, and the duration histogram in the unit
/// configured (default `ms`, named `milliseconds` by the Prometheus exporter; `s`, `seconds`).
pub(crate) fn spanmetrics_series() -> Vec<String> {
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

/// Every dashboard of `dashboards/`, by file.
pub(crate) fn dashboards() -> Vec<(String, Json)> {
    let dir = root().join("dashboards");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"));
    files
        .map(|p| (p.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect()
}

/// Every panel, rows' nested panels included.
pub(crate) fn panels(dashboard: &Json) -> Vec<Json> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        out.extend(panel["panels"].as_array().cloned().unwrap_or_default());
        out.push(panel.clone());
    }
    out
}
