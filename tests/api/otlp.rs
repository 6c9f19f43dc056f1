//! Stand-ins for the OpenTelemetry Collector (there is no Collector binary here): the gRPC fake from
//! fake-opentelemetry-collector, and a small `POST /v1/traces` receiver for OTLP over HTTP that keeps the resource.

use std::{net::SocketAddr, time::Duration};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value::Value, resource::v1::Resource,
};
use prost::Message;
use tokio::sync::mpsc;

/// Receives OTLP/HTTP protobuf trace exports.
pub struct HttpReceiver {
    pub address: SocketAddr,
    requests: mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
}

impl HttpReceiver {
    pub async fn start() -> Self {
        let (tx, requests) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route("/v1/traces", post(receive)).with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, requests }
    }

    /// The next export, waiting at most `deadline`.
    pub async fn next(&mut self, deadline: Duration) -> Option<ExportTraceServiceRequest> {
        tokio::time::timeout(deadline, self.requests.recv()).await.ok().flatten()
    }
}

async fn receive(State(tx): State<mpsc::UnboundedSender<ExportTraceServiceRequest>>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("a valid OTLP protobuf body");
    let _ = tx.send(request);
    Vec::new() // an empty ExportTraceServiceResponse
}

/// A string attribute of a resource.
pub fn resource_attr(resource: &Resource, key: &str) -> Option<String> {
    resource.attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        other => Some(format!("{other:?}")),
    })
}
