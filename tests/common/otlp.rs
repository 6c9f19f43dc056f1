//! Stand-ins for the OpenTelemetry Collector (there is no Collector binary here): the gRPC fake from
//! fake-opentelemetry-collector, and a small `POST /v1/traces` + `POST /v1/logs` receiver for OTLP over HTTP that
//! keeps everything it is sent, resource included.

use std::time::Duration;

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::{logs::v1::ExportLogsServiceRequest, trace::v1::ExportTraceServiceRequest},
    common::v1::{AnyValue, KeyValue, any_value::Value},
    resource::v1::Resource,
};
use prost::Message;
use tokio::sync::mpsc;

/// Receives OTLP/HTTP protobuf trace and log exports.
pub struct HttpReceiver {
    /// `http://<its address>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    requests: mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    logs: mpsc::UnboundedReceiver<ExportLogsServiceRequest>,
}

impl HttpReceiver {
    pub async fn start() -> Self {
        let (traces, requests) = mpsc::unbounded_channel();
        let (log_tx, logs) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/v1/traces", post(receive::<ExportTraceServiceRequest>).with_state(traces))
            .route("/v1/logs", post(receive::<ExportLogsServiceRequest>).with_state(log_tx));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint: format!("http://{address}"), requests, logs }
    }

    /// The app's environment for exporting spans to this receiver over OTLP/HTTP, a batch every `delay_ms`.
    pub fn env<'a>(&'a self, delay_ms: &'a str) -> [(&'a str, &'a str); 3] {
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_BSP_SCHEDULE_DELAY", delay_ms),
        ]
    }

    /// The next trace export, waiting at most `deadline`.
    pub async fn next(&mut self, deadline: Duration) -> Option<ExportTraceServiceRequest> {
        tokio::time::timeout(deadline, self.requests.recv()).await.ok().flatten()
    }

    /// The next log export, waiting at most `deadline`.
    pub async fn next_logs(&mut self, deadline: Duration) -> Option<ExportLogsServiceRequest> {
        tokio::time::timeout(deadline, self.logs.recv()).await.ok().flatten()
    }
}

async fn receive<M: Message + Default>(State(tx): State<mpsc::UnboundedSender<M>>, body: Bytes) -> Vec<u8> {
    let request = M::decode(body).expect("a valid OTLP protobuf body");
    let _ = tx.send(request);
    Vec::new() // an empty Export*ServiceResponse
}

/// A string attribute of a resource.
pub fn resource_attr(resource: &Resource, key: &str) -> Option<String> {
    attr(&resource.attributes, key)
}

/// A string attribute among `attributes` (other kinds as their Debug text).
pub fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| text(kv.value.as_ref()?))
}

/// A string value (other kinds as their Debug text).
pub fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// Bytes (trace and span ids) as lowercase hex, as W3C `traceparent` writes them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The span id the response's `traceparent` names: the request's server span.
pub fn server_span_id(response: &reqwest::Response) -> String {
    let traceparent = response.headers()["traceparent"].to_str().unwrap();
    traceparent.split('-').nth(2).unwrap().to_owned()
}
