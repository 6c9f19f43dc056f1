//! The Loki stand-in of the compose acceptance suite (Loki itself cannot run here): the part of Loki's HTTP contract
//! the stack relies on, plus a way for the tests to read what arrived. The binary is `loki-standin`.
//!
//! - `POST /otlp/v1/logs`: an OTLP `ExportLogsServiceRequest`, `Content-Type` exactly `application/x-protobuf` or
//!   `application/json`, `Content-Encoding` none or `gzip` (the Collector's default), as Loki 3 takes them (Loki also
//!   reads zstd and lz4). 204 when stored, 400 with the reason otherwise: Loki's answers.
//! - `GET /ready`: 200 `ready`, as Loki says once its modules run; the stand-in is ready as soon as it listens.
//! - `GET /standin/records`: every record kept, oldest first, as a JSON array of objects with `resource` and
//!   `attributes` (key → value), `scope` (name), `body` (a string body stays a string; maps and arrays become JSON;
//!   bytes become hex), `trace_id`/`span_id` (lowercase hex, `""` if absent), `severity_number`, `severity_text`,
//!   `event_name`, `timestamp` (ns: the record's time, else its observed time, else arrival, as Loki picks it) and
//!   `observed_timestamp` (ns, as sent). `?trace_id=HEX` keeps only the records of that trace.
//!
//! Not here: streams, labels, structured metadata, LogQL, storage — what Loki does with a record after it arrives.

use std::{
    collections::VecDeque,
    io::Read,
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};

use opentelemetry_proto::tonic::{
    collector::logs::v1::ExportLogsServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value::Value as Any},
};
use prost::Message;
use serde_json::{Map, Value, json};
use tiny_http::{Header, Method, Request, Response};

/// Records kept: the newest this many, so a long run holds at most a few hundred MB however much it is sent.
pub const MAX_RECORDS: usize = 100_000;

/// A request body (compressed, and again decompressed) larger than this is refused, as Loki refuses one over its
/// `distributor.max_recv_msg_size` (100 MB by default).
const MAX_BODY: u64 = 100 << 20;

/// The config file of Loki's command line `-config.file=PATH` (also `--config.file=PATH` and `-config.file PATH`, as
/// Go's flag package reads them). Any other argument is an error naming it.
pub fn config_file(args: impl IntoIterator<Item = String>) -> Result<PathBuf, String> {
    let mut args = args.into_iter();
    let mut file = None;
    while let Some(arg) = args.next() {
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')).unwrap_or_default();
        file = Some(match flag.split_once('=') {
            Some(("config.file", path)) => path.to_owned(),
            None if flag == "config.file" => args.next().ok_or("flag needs an argument: -config.file")?,
            _ => return Err(format!("unknown argument {arg:?}: the Loki stand-in takes only -config.file=PATH")),
        });
    }
    file.map(PathBuf::from).ok_or_else(|| "no -config.file=PATH given".to_owned())
}

/// `server.http_listen_port` of the Loki config at `path` (3100, Loki's default, when absent); the rest of the file
/// is Loki's and ignored.
pub fn listen_port(path: &Path) -> Result<u16, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match &config["server"]["http_listen_port"] {
        serde_yaml::Value::Null => Ok(3100),
        port => port
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("{}: server.http_listen_port is not a port: {}", path.display(), yaml_line(port))),
    }
}

fn yaml_line(value: &serde_yaml::Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default().trim().replace('\n', " ")
}

/// The records received, newest last, at most [`MAX_RECORDS`].
#[derive(Debug, Default)]
pub struct Records(Mutex<VecDeque<Value>>);

impl Records {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Value>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, new: Vec<Value>) {
        let mut kept = self.lock();
        kept.extend(new);
        let excess = kept.len().saturating_sub(MAX_RECORDS);
        kept.drain(..excess);
    }
}

/// Answer the requests `server` receives until it is unblocked.
pub fn serve(server: &tiny_http::Server, records: &Records) {
    while let Ok(mut request) = server.recv() {
        let (status, content_type, body) = answer(&mut request, records);
        let header = Header::from_bytes("Content-Type", content_type).expect("a valid header");
        let _ = request.respond(Response::from_string(body).with_status_code(status).with_header(header));
    }
}

fn answer(request: &mut Request, records: &Records) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let path = request.url().split('?').next().unwrap_or_default().to_owned();
    match (request.method(), path.as_str()) {
        (Method::Post, "/otlp/v1/logs") => match read_export(request) {
            Ok(export) => {
                records.push(flatten(&export));
                (204, TEXT, String::new())
            }
            Err(reason) => (400, TEXT, reason + "\n"),
        },
        (Method::Get, "/ready") => (200, TEXT, "ready\n".to_owned()),
        (Method::Get, "/standin/records") => {
            // `?trace_id=HEX`: only that trace's records (the whole store under load is megabytes).
            let query = request.url().split_once('?').map_or("", |(_, q)| q);
            let wanted = query.split('&').find_map(|pair| pair.strip_prefix("trace_id="));
            let kept = records.lock();
            let chosen = kept.iter().filter(|r| wanted.is_none_or(|id| r["trace_id"] == id));
            (200, "application/json", Value::from_iter(chosen.cloned()).to_string())
        }
        (_, "/otlp/v1/logs" | "/ready" | "/standin/records") => (405, TEXT, "method not allowed\n".to_owned()),
        _ => (404, TEXT, "404 page not found\n".to_owned()),
    }
}

fn read_export(request: &mut Request) -> Result<ExportLogsServiceRequest, String> {
    let header = |name: &'static str| {
        let found = request.headers().iter().find(|h| h.field.equiv(name));
        found.map(|h| h.value.as_str().to_owned()).unwrap_or_default()
    };
    let (content_type, encoding) = (header("Content-Type"), header("Content-Encoding"));
    let mut raw = Vec::new();
    let mut body = request.as_reader().take(MAX_BODY + 1);
    match encoding.as_str() {
        "" => body.read_to_end(&mut raw),
        "gzip" => flate2::read::GzDecoder::new(body).take(MAX_BODY + 1).read_to_end(&mut raw),
        other => return Err(format!("unsupported content encoding {other}: the stand-in takes none or gzip")),
    }
    .map_err(|e| format!("reading the body: {e}"))?;
    if raw.len() as u64 > MAX_BODY {
        return Err(format!("body larger than {MAX_BODY} bytes"));
    }
    match content_type.as_str() {
        "application/x-protobuf" => ExportLogsServiceRequest::decode(raw.as_slice()).map_err(|e| e.to_string()),
        "application/json" => serde_json::from_slice(&raw).map_err(|e| e.to_string()),
        other => Err(format!("content type: {other} is not supported")),
    }
}

/// One JSON object per log record, with its resource's and scope's names copied in.
fn flatten(export: &ExportLogsServiceRequest) -> Vec<Value> {
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut out = Vec::new();
    for resource_logs in &export.resource_logs {
        let resource = attributes(resource_logs.resource.as_ref().map_or(&[], |r| &r.attributes));
        for scope_logs in &resource_logs.scope_logs {
            let scope = scope_logs.scope.as_ref().map_or("", |s| &s.name);
            for record in &scope_logs.log_records {
                let timestamp = [record.time_unix_nano, record.observed_time_unix_nano].into_iter().find(|&t| t != 0);
                out.push(json!({
                    "resource": resource.clone(),
                    "scope": scope,
                    "timestamp": timestamp.unwrap_or_else(now),
                    "observed_timestamp": record.observed_time_unix_nano,
                    "severity_number": record.severity_number,
                    "severity_text": record.severity_text,
                    "event_name": record.event_name,
                    "body": record.body.as_ref().map_or(Value::Null, any),
                    "attributes": attributes(&record.attributes),
                    "trace_id": hex(&record.trace_id),
                    "span_id": hex(&record.span_id),
                }));
            }
        }
    }
    out
}

fn attributes(pairs: &[KeyValue]) -> Value {
    Value::Object(
        pairs.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, any))).collect::<Map<_, _>>(),
    )
}

fn any(value: &AnyValue) -> Value {
    match &value.value {
        // An index into a profile's string table (in development): a log export has no table to resolve it in.
        None | Some(Any::StringValueStrindex(_)) => Value::Null,
        Some(Any::StringValue(s)) => s.as_str().into(),
        Some(Any::BoolValue(b)) => (*b).into(),
        Some(Any::IntValue(i)) => (*i).into(),
        Some(Any::DoubleValue(d)) => (*d).into(),
        Some(Any::ArrayValue(array)) => array.values.iter().map(any).collect(),
        Some(Any::KvlistValue(list)) => attributes(&list.values),
        Some(Any::BytesValue(bytes)) => hex(bytes).into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    })
}
