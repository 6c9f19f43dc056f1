//! Reading what the OTLP receivers got (the harness's sink, the gRPC fake collector): attributes, ids, and the span a
//! response names. Shared by the api and twin binaries, each using part of it.

use opentelemetry_proto::tonic::{
    common::v1::{AnyValue, KeyValue, any_value::Value},
    resource::v1::Resource,
};

/// A string attribute of a resource.
pub(crate) fn resource_attr(resource: &Resource, key: &str) -> Option<String> {
    attr(&resource.attributes, key)
}

/// A string attribute among `attributes` (other kinds as their Debug text).
pub(crate) fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| text(kv.value.as_ref()?))
}

/// A string value (other kinds as their Debug text).
pub(crate) fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// Bytes (trace and span ids) as lowercase hex, as W3C `traceparent` writes them.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The span id the response's `traceparent` names: the request's server span.
pub(crate) fn server_span_id(response: &reqwest::Response) -> String {
    let traceparent = response.headers()["traceparent"].to_str().unwrap();
    traceparent.split('-').nth(2).unwrap().to_owned()
}
