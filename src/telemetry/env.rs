//! The `OTEL_*` environment as this service reads it: the switches that turn export off, the protocol check, the
//! resource of spans and log records, and the propagators. The OTLP crate and the SDK read the rest themselves
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_BSP_*`, `OTEL_BLRP_*`); what they would accept too leniently is checked here
//! and is a configuration error.

use opentelemetry::{
    KeyValue,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
};
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
};

use crate::config::ConfigError;

/// Whether export of one signal is off: `OTEL_SDK_DISABLED=true`, or `exporter` (e.g. `OTEL_LOGS_EXPORTER`) is `none`.
pub(super) fn switched_off(exporter: &str) -> bool {
    env_var("OTEL_SDK_DISABLED").as_deref() == Some("true") || env_var(exporter).as_deref() == Some("none")
}

/// The OTLP protocol variables for one signal (`signal`, e.g. `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, and the general
/// `OTEL_EXPORTER_OTLP_PROTOCOL`) name a transport this build has. The exporter alone would fall back to its default
/// transport on an unknown value or `http/json`, with a warning this build does not print, and every export would
/// then fail against a Collector listening for the other one.
pub(super) fn check_protocol(signal: &str) -> Result<(), ConfigError> {
    for name in [signal, "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        // Lower-cased as the exporter does, but not trimmed: it would not trim either, and ignore " grpc".
        match std::env::var(name).ok().map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("" | "grpc" | "http/protobuf") => {}
            Some(other) => {
                return Err(ConfigError::new(
                    name,
                    format!("unsupported protocol '{other}'; supported: grpc, http/protobuf"),
                ));
            }
        }
    }
    Ok(())
}

/// A variable, trimmed and lower-cased, for the switches (`true`, `none`, ...).
pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_ascii_lowercase())
}

/// The resource of spans and log records alike (built once, so both carry the same `service.instance.id`).
/// `service.name` defaults to `visit-counter` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` name one;
/// `service.instance.id` is unique per process, so replicas are told apart.
pub(super) fn resource() -> Resource {
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="));
    let mut builder = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_attribute(KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()));
    if !named {
        builder = builder.with_service_name("visit-counter");
    }
    builder.build()
}

/// `OTEL_PROPAGATORS` (default `tracecontext,baggage`).
pub(super) fn propagators(list: Option<&str>) -> Result<TextMapCompositePropagator, ConfigError> {
    let mut chosen: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for name in list.unwrap_or("tracecontext,baggage").split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "tracecontext" => chosen.push(Box::new(TraceContextPropagator::new())),
            "baggage" => chosen.push(Box::new(BaggagePropagator::new())),
            "none" => chosen.clear(),
            other => {
                return Err(ConfigError::new(
                    "OTEL_PROPAGATORS",
                    format!("unsupported propagator '{other}'; supported: tracecontext, baggage, none"),
                ));
            }
        }
    }
    Ok(TextMapCompositePropagator::new(chosen))
}
