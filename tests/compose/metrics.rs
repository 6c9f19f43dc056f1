//! Prometheus on the real stack: every target up (the Collector's too, which no other test has), the shipped rules
//! loaded and healthy, every PromQL query of the dashboard answering data — the Collector-fed panels included — and
//! span-metrics exemplars whose trace ids Jaeger returns, all from the traffic of the `load` service (profile load)
//! alone, as a user sees it after `docker compose --profile load up`.

use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

use harness::load::{Mix, Plan, Tally, drive};
use serde_json::Value;

use crate::{
    project::{Project, poll},
    traces::JAEGER,
};

pub(crate) const PROMETHEUS: &str = "http://127.0.0.1:9090";

/// Two scrapes (15 s apart) and a rule evaluation, with room for a loaded 2-core machine.
const SERIES_DEADLINE: Duration = Duration::from_secs(150);

/// Every dashboard query has data this long after the stack is up, from the load service's traffic alone: the
/// issue's two minutes, and a margin for a loaded 2-core machine (the figure printed is what counts).
const DASHBOARD_DEADLINE: Duration = Duration::from_secs(150);

pub(crate) fn targets_up_and_rules_healthy(project: &Project) -> Result<String, String> {
    let targets = poll("every Prometheus target up", SERIES_DEADLINE, || {
        let data = api(project, "/api/v1/targets")?;
        let active = data["activeTargets"].as_array()?.clone();
        (!active.is_empty() && active.iter().all(|t| t["health"] == "up")).then_some(active)
    })
    .map_err(|e| format!("{e}; down: {}", down_targets(project)))?;
    let mut jobs: Vec<_> = targets.iter().filter_map(|t| t["labels"]["job"].as_str().map(str::to_owned)).collect();
    jobs.sort();
    let groups = api(project, "/api/v1/rules").and_then(|d| d["groups"].as_array().cloned()).ok_or("no rules API")?;
    let rules: Vec<&Value> = groups.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()).collect();
    let broken: Vec<_> =
        rules.iter().filter(|r| r["health"] != "ok").map(|r| format!("{}: {}", r["name"], r["lastError"])).collect();
    if rules.is_empty() || !broken.is_empty() {
        return Err(format!("{} rules, not healthy: {broken:?}", rules.len()));
    }
    Ok(format!(
        "{} targets up ({}); {} rule groups, {} rules, all healthy",
        targets.len(),
        jobs.join(" "),
        groups.len(),
        rules.len()
    ))
}

fn down_targets(project: &Project) -> String {
    let data = api(project, "/api/v1/targets").unwrap_or_default();
    let down = data["activeTargets"].as_array().into_iter().flatten().filter(|t| t["health"] != "up");
    down.map(|t| format!("{} {} ({})", t["labels"]["job"], t["scrapeUrl"], t["lastError"]))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn every_dashboard_query_has_data(project: &Project) -> Result<String, String> {
    let (mut ran, mut logql) = (Vec::new(), 0);
    for (panel, target) in dashboard_targets(project)? {
        if target["datasource"]["uid"] == "loki" {
            logql += 1;
            continue;
        }
        let expr = target["expr"].as_str().ok_or_else(|| format!("{panel}: a target without expr"))?;
        let query = substitute(expr);
        let left = DASHBOARD_DEADLINE.saturating_sub(project.up_at.elapsed());
        poll(&format!("data for {panel}: {query} (no traffic but the load service)"), left, || {
            let data = api(project, &format!("/api/v1/query?query={}", encode(&query)))?;
            data["result"].as_array().is_some_and(|r| !r.is_empty()).then_some(())
        })?;
        ran.push(query);
    }
    let collector = ran.iter().filter(|q| q.contains("traces_span_metrics_") || q.contains("otelcol_")).count();
    Ok(format!(
        "{n}/{n} PromQL queries returned data {:.0?} after the stack was up, from the load service's traffic alone; \
         {} of them on Collector panels; {logql} LogQL queries not run (Loki cannot run here)",
        project.up_at.elapsed(),
        collector,
        n = ran.len(),
    ))
}

pub(crate) fn exemplars_lead_to_traces(project: &Project) -> Result<String, String> {
    let selector = r#"{__name__=~"traces_span_metrics_duration_.*_bucket"}"#;
    let trace_ids = poll("span-metrics exemplars in Prometheus", SERIES_DEADLINE, || {
        let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        let path = format!("/api/v1/query_exemplars?query={}&start={}&end={end}", encode(selector), end - 600);
        let series = api(project, &path)?;
        let ids: BTreeSet<String> = series
            .as_array()?
            .iter()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        (!ids.is_empty()).then_some(ids)
    })?;
    let checked: Vec<_> = trace_ids.iter().take(3).collect();
    for id in &checked {
        poll(&format!("exemplar trace {id} in Jaeger"), Duration::from_secs(60), || {
            let trace = project.json(&format!("{JAEGER}/api/traces/{id}")).ok()?;
            trace["data"][0]["spans"].as_array().is_some_and(|s| !s.is_empty()).then_some(())
        })?;
    }
    Ok(format!(
        "{} exemplar trace ids from the load service's traffic; the first {} are traces in Jaeger",
        trace_ids.len(),
        checked.len()
    ))
}

/// `data` of a successful Prometheus API answer.
fn api(project: &Project, path: &str) -> Option<Value> {
    let body = project.json(&format!("{PROMETHEUS}{path}")).ok()?;
    (body["status"] == "success").then(|| body["data"].clone())
}

/// Every (panel title, target) of every dashboard in dashboards/, rows' nested panels included.
fn dashboard_targets(project: &Project) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    let dir = project.root.join("dashboards");
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| e.to_string())?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let top = dashboard["panels"].as_array().cloned().unwrap_or_default();
        let nested = top.iter().flat_map(|p| p["panels"].as_array().cloned().unwrap_or_default());
        for panel in top.iter().cloned().chain(nested) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let title =
                    format!("{} / {}", panel["title"].as_str().unwrap_or("?"), target["refId"].as_str().unwrap_or("?"));
                out.push((title, target.clone()));
            }
        }
    }
    Ok(out)
}

/// The dashboard variables as Grafana substitutes them for "All replicas" over a short range.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
        .replace("$replica", ".*")
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A background load of the suite's own on /count through NGINX (keep-alive connections, as browsers keep them: a new connection
/// per request through the published port would exhaust the host's ephemeral ports). Stopped by [`Load::stop`].
pub(crate) struct Load {
    tally: Arc<Tally>,
    task: tokio::task::JoinHandle<Result<Vec<harness::load::Record>, String>>,
}

impl Load {
    pub(crate) fn start(project: &Project, longest: Duration) -> Self {
        let plan = Plan {
            url: format!("{}/count", crate::routes::HTTP),
            concurrency: 4,
            rate: Some(100.0),
            duration: longest,
            max_requests: u64::MAX,
            timeout: Duration::from_secs(5),
            mix: Mix::default(),
        };
        let tally = Arc::new(Tally::default());
        let handle = project.block_on(async { tokio::runtime::Handle::current() });
        let task = {
            let tally = tally.clone();
            handle.spawn(async move { drive(&plan, Instant::now(), tally).await })
        };
        Self { tally, task }
    }

    /// Stops sending; returns how many requests were sent.
    pub(crate) fn stop(self) -> u64 {
        self.tally.stop();
        let sent = self.tally.sent.load(std::sync::atomic::Ordering::SeqCst);
        while !self.task.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    }
}

/// A check that fails half-way still stops its load: later checks (the count across down/up) must see none.
impl Drop for Load {
    fn drop(&mut self) {
        self.tally.stop();
        self.task.abort();
    }
}
