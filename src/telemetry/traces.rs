//! The trace pipeline: tracer provider, OTLP exporter and batch processor, configured by the SDK's standard
//! variables — `OTEL_EXPORTER_OTLP_ENDPOINT` / `_PROTOCOL` (`grpc` or `http/protobuf`, see `env::check_protocol`),
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`, `OTEL_PROPAGATORS`, `OTEL_TRACES_SAMPLER` / `_ARG`
//! (see `sampling`); `OTEL_SDK_DISABLED` / `OTEL_TRACES_EXPORTER=none` mean no export at all.
//!
//! Export never blocks a request: spans go to the SDK's batch processor (its own thread, bounded queue). Spans that
//! cannot be exported are counted in `otel_spans_dropped_total{reason}`: `queue_full` when the queue is at capacity,
//! `export_failed` when the Collector refused them or was unreachable.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{
    Resource,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider},
};
use tracing_subscriber::{Layer, registry::LookupSpan};

use super::{
    env::{check_protocol, env_var, propagators},
    export::{Bounded, counted, finish},
    sampling,
};
use crate::{metrics::names::SPANS, startup::StartupError};

/// A running trace pipeline.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// Start the pipeline (the caller checks first that export is not switched off: `env::switched_off`).
    pub fn from_env(resource: Resource) -> Result<Self, StartupError> {
        opentelemetry::global::set_text_map_propagator(propagators(env_var("OTEL_PROPAGATORS").as_deref())?);
        check_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?;
        let exporter = opentelemetry_otlp::SpanExporter::builder().build();
        let (exporter, queue) = counted(exporter, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_BSP_MAX_QUEUE_SIZE", SPANS)?;
        let batch = BatchSpanProcessor::builder(exporter)
            .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(queue.capacity()).build())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            // The decision was taken by `sampling::sampled` before the span was opened.
            .with_sampler(Sampler::AlwaysOn)
            .with_span_processor(Bounded { inner: batch, queue })
            .build();
        sampling::install()?;
        Ok(Self { provider })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        // Off: the attributes tracing-opentelemetry adds to every span by default (`code.file.path`,
        // `code.module.name`, `code.line.number`, `thread.id`, `thread.name`, `target`, `busy_ns`, `idle_ns`). Nothing
        // reads them, and each was converted and encoded at export (what they cost: docs/profile.md).
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("visit-counter"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_error_records_to_exceptions(true)
    }

    /// Export what is queued and stop (see `export::finish`). Called once, before exit.
    pub fn shutdown(self) {
        finish("spans", |timeout| self.provider.shutdown_with_timeout(timeout));
    }
}
