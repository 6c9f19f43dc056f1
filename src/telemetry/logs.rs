//! The OpenTelemetry log pipeline: every `tracing` event that passes `RUST_LOG` also becomes an OTLP log record (but
//! the access log line of a request that is not traced: see `telemetry`), with the resource of the spans and, when
//! written inside a traced request, that request's `trace_id`/`span_id` (the SDK reads them from the active
//! OpenTelemetry context, which tracing-opentelemetry sets while a span is entered).
//!
//! Configured by the SDK's variables: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` / `_PROTOCOL` (else the general
//! `OTEL_EXPORTER_OTLP_*`), `OTEL_BLRP_*` (batch delay, queue and batch sizes); `OTEL_LOGS_EXPORTER=none` or
//! `OTEL_SDK_DISABLED=true` switch the export off. Stdout logs are independent of all this.
//!
//! Like spans, export never blocks a request: records go to the SDK's batch processor (own thread, bounded queue,
//! `try_send`), and what cannot be exported is counted in `otel_logs_dropped_total{reason}` (`queue_full`,
//! `export_failed`).

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::{
    Resource,
    logs::{BatchConfigBuilder, BatchLogProcessor, SdkLoggerProvider},
};
use tracing_subscriber::{Layer, registry::LookupSpan};

use super::{
    env::check_protocol,
    export::{Bounded, counted, finish},
};
use crate::{metrics::names::LOGS, startup::StartupError};

/// A running log pipeline.
#[derive(Debug)]
pub struct Logs {
    provider: SdkLoggerProvider,
}

impl Logs {
    /// Start the pipeline (the caller checks first that export is not switched off: `env::switched_off`).
    pub fn from_env(resource: Resource) -> Result<Self, StartupError> {
        check_protocol("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")?;
        let exporter = opentelemetry_otlp::LogExporter::builder().build();
        let (exporter, queue) =
            counted(exporter, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_BLRP_MAX_QUEUE_SIZE", LOGS)?;
        let batch = BatchLogProcessor::builder(exporter)
            .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(queue.capacity()).build())
            .build();
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_log_processor(Bounded { inner: batch, queue })
            .build();
        Ok(Self { provider })
    }

    /// The `tracing` layer that turns events into OpenTelemetry log records.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        OpenTelemetryTracingBridge::new(&self.provider)
    }

    /// Export what is queued and stop (see `export::finish`). Called once, before exit.
    pub fn shutdown(self) {
        finish("log records", |timeout| self.provider.shutdown_with_timeout(timeout));
    }
}
