//! The `load` service (profile `load`), which the suite starts with the stack and sends nothing beside: its traces
//! start at the client (the `traceparent` it logs names a trace in Jaeger whose server span's parent is its own,
//! never-exported client span), it logs a summary a minute, and stopped it exits 0 with a last line, having seen
//! nothing but 200, 404 and 503. Stopping it is also what makes the later exact-count checks exact.

use std::time::Duration;

use serde_json::Value;

use crate::{
    project::{LOAD, Project, poll},
    traces::{JAEGER, tag},
};

/// Batching in the app (up to 5 s) and in the Collector (1 s), and Jaeger's ingestion.
const EXPORT_DEADLINE: Duration = Duration::from_secs(60);

/// The first summary line comes a minute after the service started, which was before the stack was up.
const SUMMARY_DEADLINE: Duration = Duration::from_secs(90);

fn logs(project: &Project) -> Result<String, String> {
    project.compose(&["logs", "--no-log-prefix", LOAD])
}

pub(crate) fn traces_begin_at_the_generator(project: &Project) -> Result<String, String> {
    let prefix = "load: first traced request answered 200, traceparent ";
    let traceparent = poll("the load service's first traced request in its log", EXPORT_DEADLINE, || {
        logs(project).ok()?.lines().find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
    })?;
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    let [_, trace_id, client_span, _] = parts[..] else { return Err(format!("traceparent {traceparent:?}")) };
    let spans = poll(&format!("trace {trace_id} in Jaeger"), EXPORT_DEADLINE, || {
        let trace = project.json(&format!("{JAEGER}/api/traces/{trace_id}")).ok()?;
        trace["data"][0]["spans"].as_array().filter(|s| !s.is_empty()).cloned()
    })?;
    let parent = |s: &Value| {
        let reference = s["references"].as_array().into_iter().flatten().find(|r| r["refType"] == "CHILD_OF");
        reference.and_then(|r| r["spanID"].as_str()).map(str::to_owned)
    };
    let root = spans.iter().find(|s| parent(s).as_deref() == Some(client_span)).ok_or_else(|| {
        format!("no span of trace {trace_id} has the client's span {client_span} as its parent: {spans:?}")
    })?;
    if spans.iter().any(|s| s["spanID"] == client_span) || tag(root, "span.kind") != Some(Value::from("server")) {
        return Err(format!("the child of {client_span} is not a server span with a remote parent: {root}"));
    }
    // Among the latest traces, those that began at the client: a root whose parent is in no trace Jaeger has.
    let recent = project.json(&format!("{JAEGER}/api/traces?service=visit-counter&limit=50&lookback=5m"))?;
    let traces = recent["data"].as_array().cloned().unwrap_or_default();
    let began_at_client = traces
        .iter()
        .filter(|t| {
            let spans = t["spans"].as_array().cloned().unwrap_or_default();
            let inside = |id: &str| spans.iter().any(|s| s["spanID"] == id);
            spans.iter().any(|s| parent(s).is_some_and(|p| !inside(&p)))
        })
        .count();
    Ok(format!(
        "traceparent {traceparent} from the load service: trace {trace_id} in Jaeger, {} {} (server) a child of the \
         client's span {client_span}; {began_at_client} of the latest {} traces began at the client",
        spans.len(),
        root["operationName"].as_str().unwrap_or("?"),
        traces.len()
    ))
}

pub(crate) fn stops_with_a_clean_summary(project: &Project) -> Result<String, String> {
    let minute = poll("the load service's summary line a minute", SUMMARY_DEADLINE, || {
        logs(project).ok()?.lines().find(|l| l.starts_with("load: t=")).map(str::to_owned)
    })?;
    project.compose(&["stop", LOAD])?;
    let id = project.containers(LOAD)?.into_iter().next().ok_or("no load container")?;
    let state = project.inspect(&id)?["State"].clone();
    let text = logs(project)?;
    let last = text.lines().last().unwrap_or_default();
    if state["Status"] != "exited" || state["ExitCode"] != 0 || !last.starts_with("load: done after") {
        return Err(format!(
            "stopped, the load service is {} with exit code {}; its log:\n{text}",
            state["Status"], state["ExitCode"]
        ));
    }
    if !text.contains("load: SIGTERM") {
        return Err(format!("the load service did not see `docker compose stop`'s SIGTERM:\n{text}"));
    }
    Ok(format!("a minute's summary: {minute}\nstopped (SIGTERM), exit 0: {last}"))
}
