//! The Loki stand-in as the compose suite runs it: the built `loki-standin` binary on a Loki config file, sent OTLP
//! log exports over HTTP as the Collector sends them, and read back through `/standin/records`.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, TcpStream},
    process::Command,
    time::Duration,
};

use flate2::{Compression, write::GzEncoder};
use harness::{http, ports, process::Process};
use nix::sys::signal::Signal;
use opentelemetry_proto::tonic::{
    collector::logs::v1::ExportLogsServiceRequest,
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value as Any},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    resource::v1::Resource,
};
use prost::Message;
use serde_json::Value;

const TRACE_ID: [u8; 16] =
    [0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c];

struct StandIn {
    process: Process,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The binary on a config that names a free port, as compose starts it; waits for `/ready`.
fn start() -> StandIn {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = ports::free_port();
    let config = dir.path().join("config.yaml");
    let yaml = format!("auth_enabled: false\nserver:\n  http_listen_port: {port}\n  grpc_listen_port: 9096\n");
    std::fs::write(&config, yaml).expect("config written");
    let mut command = Command::new(env!("CARGO_BIN_EXE_loki-standin"));
    command.arg(format!("-config.file={}", config.display()));
    let mut process = Process::spawn("loki-standin", command, &dir.path().join("log")).expect("stand-in starts");
    let ready = || http::get(port, "/ready").is_ok_and(|(status, body)| status == 200 && body == "ready\n");
    process.wait_ready("the stand-in's /ready", Duration::from_secs(10), ready).expect("ready");
    StandIn { process, port, _dir: dir }
}

/// POST `body` with these headers; the status code.
fn post(port: u16, headers: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let head = format!("POST /otlp/v1/logs HTTP/1.0\r\n{headers}Content-Length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {answer:?}"))
}

fn records(port: u16) -> Vec<Value> {
    let (status, body) = http::get(port, "/standin/records").expect("records");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a JSON array")
}

fn text(s: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Any::StringValue(s.to_owned())) })
}

fn export() -> ExportLogsServiceRequest {
    let attribute = |key: &str, value: &str| KeyValue { key: key.to_owned(), value: text(value), ..Default::default() };
    let record = LogRecord {
        time_unix_nano: 1_764_000_000_123_456_789,
        severity_number: 9,
        severity_text: "INFO".to_owned(),
        body: text("request served"),
        attributes: vec![attribute("http.route", "/count")],
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74],
        ..Default::default()
    };
    let scope = InstrumentationScope { name: "visit_counter".to_owned(), ..Default::default() };
    let scope_logs = ScopeLogs { scope: Some(scope), log_records: vec![record], ..Default::default() };
    let resource = Resource { attributes: vec![attribute("service.name", "visit-counter")], ..Default::default() };
    let resource_logs = ResourceLogs { resource: Some(resource), scope_logs: vec![scope_logs], ..Default::default() };
    ExportLogsServiceRequest { resource_logs: vec![resource_logs] }
}

#[test]
fn a_gzipped_protobuf_export_is_read_back_decoded_with_hex_ids() {
    let standin = start();
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(&export().encode_to_vec()).expect("compressed");
    let body = gzip.finish().expect("compressed");

    let headers = "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n";
    assert_eq!(post(standin.port, headers, &body), 204, "Loki's answer to a stored push");

    let got = records(standin.port);
    assert_eq!(got.len(), 1, "{got:?}");
    let record = &got[0];
    assert_eq!(record["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(record["span_id"], "eee19b7ec3c1b174");
    assert_eq!(record["resource"]["service.name"], "visit-counter");
    assert_eq!(record["scope"], "visit_counter");
    assert_eq!(record["body"], "request served");
    assert_eq!(record["attributes"]["http.route"], "/count");
    assert_eq!((record["severity_number"].as_i64(), record["severity_text"].as_str()), (Some(9), Some("INFO")));
    assert_eq!(record["timestamp"].as_u64(), Some(1_764_000_000_123_456_789));
}

#[test]
fn an_otlp_json_export_is_read_like_a_protobuf_one() {
    let standin = start();
    let json = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"nginx"}}]},
        "scopeLogs":[{"scope":{"name":"access"},"logRecords":[{"observedTimeUnixNano":"1764000000000000000",
        "body":{"kvlistValue":{"values":[{"key":"status","value":{"intValue":"200"}}]}},
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}"#;

    assert_eq!(post(standin.port, "Content-Type: application/json\r\n", json.as_bytes()), 204);

    let record = &records(standin.port)[0];
    assert_eq!(
        (&record["resource"]["service.name"], &record["scope"]),
        (&Value::from("nginx"), &Value::from("access"))
    );
    assert_eq!(record["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(record["body"]["status"], 200, "a map body stays a JSON object");
    assert_eq!(record["timestamp"].as_u64(), Some(1_764_000_000_000_000_000), "no time: the observed time, as Loki");
}

#[test]
fn a_content_type_loki_refuses_is_refused_and_nothing_is_kept() {
    let standin = start();

    let status = post(standin.port, "Content-Type: text/plain\r\n", &export().encode_to_vec());

    assert_eq!(status, 400);
    assert!(records(standin.port).is_empty());
}

#[test]
fn sigterm_ends_it_promptly_with_status_zero() {
    let mut standin = start();

    let status = standin.process.stop(Signal::SIGTERM, Duration::from_secs(2)).expect("exits");

    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_argument_or_an_unreadable_config_ends_it_with_one_line() {
    for (arg, named) in [
        ("-config.expand-env=true", "-config.expand-env=true"),
        ("-config.file=/nonexistent.yaml", "/nonexistent.yaml"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_loki-standin")).arg(arg).output().expect("runs");

        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{arg}: {:?}", out.status);
        assert_eq!(stderr.lines().count(), 1, "{arg}: one line: {stderr:?}");
        assert!(stderr.contains(named), "{arg}: names it: {stderr:?}");
    }
}
