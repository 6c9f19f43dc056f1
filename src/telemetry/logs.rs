//! The OpenTelemetry log pipeline: every `tracing` event that passes `RUST_LOG` also becomes an OTLP log record (but
//! the request line of a request that is not traced: see `Telemetry::init`), with the resource of the spans and, when
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

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    logs::{
        BatchConfigBuilder, BatchLogProcessor, LogBatch, LogExporter, LogProcessor, SdkLogRecord, SdkLoggerProvider,
    },
};
use tracing_subscriber::{Layer, registry::LookupSpan};

use super::{
    otel::{SHUTDOWN_TIMEOUT, check_protocol, switched_off},
    queue::ExportQueue,
};
use crate::config::ConfigError;

/// A running log pipeline.
pub struct Logs {
    provider: SdkLoggerProvider,
}

impl Logs {
    /// `None` when export is switched off by `OTEL_SDK_DISABLED=true` or `OTEL_LOGS_EXPORTER=none`.
    pub fn from_env(resource: Resource) -> Result<Option<Self>, ConfigError> {
        if switched_off("OTEL_LOGS_EXPORTER") {
            return Ok(None);
        }
        check_protocol("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")?;
        let exporter = opentelemetry_otlp::LogExporter::builder()
            .build()
            .map_err(|e| ConfigError::new("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", e.to_string()))?;
        describe_metrics();
        let queue =
            ExportQueue::from_env("OTEL_BLRP_MAX_QUEUE_SIZE", "otel_logs_dropped_total", "otel_logs_exported_total")?;
        let batch = BatchLogProcessor::builder(CountingExporter { inner: exporter, queue: queue.clone() })
            .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(queue.capacity()).build())
            .build();
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_log_processor(BoundedProcessor { inner: batch, queue })
            .build();
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns events into OpenTelemetry log records.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        OpenTelemetryTracingBridge::new(&self.provider)
    }

    /// Export what is queued and stop, within [`SHUTDOWN_TIMEOUT`]. Called once, before exit.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            eprintln!("visit-counter: exporting the last log records failed: {e}");
        }
    }
}

fn describe_metrics() {
    metrics::describe_counter!(
        "otel_logs_dropped_total",
        "Log records that were never exported: reason=queue_full (export queue at capacity) or export_failed."
    );
    metrics::describe_counter!("otel_logs_exported_total", "Log records the Collector accepted.");
}

/// Hands records to the batch processor only while its queue has room (see [`ExportQueue`]), counting the rest.
#[derive(Debug)]
struct BoundedProcessor {
    inner: BatchLogProcessor,
    queue: ExportQueue,
}

impl LogProcessor for BoundedProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.queue.admit() {
            self.inner.emit(record, scope);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, counting outcomes and releasing the records it was handed from the [`ExportQueue`].
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    queue: ExportQueue,
}

impl<E: LogExporter> LogExporter for CountingExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let size = batch.iter().count();
        let result = self.inner.export(batch).await;
        self.queue.exported(size, result.is_ok());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
