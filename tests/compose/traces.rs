//! One request followed from NGINX to Redis: its `traceparent` answer header names a trace that Jaeger returns with
//! the app's server span and its Redis `INCR` child, and the log records of that request — the app's over OTLP and
//! NGINX's access-log line read from its file by the Collector — reach Loki's place carrying the same trace id.

use std::{sync::Mutex, time::Duration};

use serde_json::Value;

use crate::project::{Project, poll};

pub(crate) const JAEGER: &str = "http://127.0.0.1:16686";

/// The trace id of the request [`a_request_is_traced_to_jaeger`] sent, for [`its_logs_reach_loki`].
static TRACED: Mutex<Option<String>> = Mutex::new(None);

/// Batching in the app (up to 5 s) and in the Collector (1 s), and Jaeger's ingestion.
const EXPORT_DEADLINE: Duration = Duration::from_secs(60);

pub(crate) fn a_request_is_traced_to_jaeger(project: &Project) -> Result<String, String> {
    let answer = project.get(&format!("{}/count", crate::routes::HTTP), "application/json")?;
    let traceparent = answer.header("traceparent").ok_or("/count answered without a traceparent")?.to_owned();
    let trace_id = traceparent.split('-').nth(1).ok_or_else(|| format!("traceparent {traceparent:?}"))?.to_owned();
    *TRACED.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace_id.clone());
    let spans = poll(&format!("trace {trace_id} in Jaeger with both spans"), EXPORT_DEADLINE, || {
        let trace = project.json(&format!("{JAEGER}/api/traces/{trace_id}")).ok()?;
        let spans = trace["data"][0]["spans"].as_array()?.clone();
        (spans.len() >= 2).then_some(spans)
    })?;
    let server = spans.iter().find(|s| s["operationName"] == "GET /count").ok_or("no span named GET /count")?;
    let incr = spans.iter().find(|s| s["operationName"] == "INCR").ok_or("no span named INCR")?;
    let server_id = server["spanID"].as_str().unwrap_or_default();
    let parent = incr["references"].as_array().into_iter().flatten().find(|r| r["refType"] == "CHILD_OF");
    if parent.map(|p| &p["spanID"]) != Some(&Value::from(server_id)) {
        return Err(format!("INCR's parent is {parent:?}, not the server span {server_id}"));
    }
    let expect = [
        (server, "span.kind", Value::from("server")),
        (server, "http.request.method", Value::from("GET")),
        (server, "http.route", Value::from("/count")),
        (server, "http.response.status_code", Value::from(200)),
        (server, "url.path", Value::from("/count")),
        (incr, "span.kind", Value::from("client")),
        (incr, "db.system.name", Value::from("redis")),
        (incr, "db.operation.name", Value::from("INCR")),
    ];
    for (span, key, wanted) in expect {
        let got = tag(span, key);
        if got.as_ref() != Some(&wanted) {
            return Err(format!("{} has {key} = {got:?}, docs/telemetry.md says {wanted}", span["operationName"]));
        }
    }
    Ok(format!(
        "trace {trace_id}: GET /count (server, status 200, route /count) → INCR (client, db.system.name redis), {} spans",
        spans.len()
    ))
}

/// A span's tag as JSON (numbers as numbers).
pub(crate) fn tag(span: &Value, key: &str) -> Option<Value> {
    let tags = span["tags"].as_array()?;
    tags.iter().find(|t| t["key"] == key).map(|t| t["value"].clone())
}

pub(crate) fn its_logs_reach_loki(project: &Project) -> Result<String, String> {
    let trace_id =
        TRACED.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or("no traced request (previous check)")?;
    let url = format!("http://127.0.0.1:3100/standin/records?trace_id={trace_id}");
    let records = poll(&format!("log records of trace {trace_id} from the app and NGINX"), EXPORT_DEADLINE, || {
        let text = project.exec("loki", &["/usr/local/bin/wget", "-q", "-O", "-", &url]).ok()?;
        let records: Vec<Value> = serde_json::from_str(&text).ok()?;
        let from = |service: &str| records.iter().any(|r| r["resource"]["service.name"] == service);
        (from("visit-counter") && from("nginx")).then_some(records)
    })?;
    let app = records.iter().find(|r| r["resource"]["service.name"] == "visit-counter").ok_or("no app record")?;
    let nginx = records.iter().find(|r| r["resource"]["service.name"] == "nginx").ok_or("no NGINX record")?;
    let nginx_status = &nginx["attributes"]["status"];
    if nginx["attributes"]["uri"] != "/count" {
        return Err(format!("the NGINX record is not the request's access-log line: {nginx}"));
    }
    Ok(format!(
        "{} records with trace id {trace_id}: app {:?} ({}), NGINX access log uri /count status {nginx_status}",
        records.len(),
        app["body"].as_str().unwrap_or_default(),
        app["severity_text"].as_str().unwrap_or_default(),
    ))
}
