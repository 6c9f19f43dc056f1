//! The OpenTelemetry trace pipeline (and the resource and switches it shares with the log pipeline in `logs`),
//! configured by the SDK's standard environment variables: `OTEL_EXPORTER_OTLP_ENDPOINT` / `_PROTOCOL` (`grpc` or
//! `http/protobuf`, read by the OTLP crate; any other value is a configuration error here, see [`check_protocol`]),
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_BSP_*` (read by the SDK), plus what the Rust SDK leaves to applications or handles too leniently:
//! `OTEL_SDK_DISABLED` / `OTEL_TRACES_EXPORTER=none` (no export at all), `OTEL_PROPAGATORS` and
//! `OTEL_TRACES_SAMPLER` / `_ARG` (validated here, see [`sampled`]).
//!
//! Sampling is decided before a request's spans exist ([`sampled`]), with the SDK's sampler that
//! `OTEL_TRACES_SAMPLER` / `_ARG` name (an unknown name or a bad ratio is a configuration error): an unsampled request opens no `tracing` span at all, because in
//! tracing-opentelemetry an unsampled span costs nearly as much as a sampled one (docs/profile.md). The provider
//! itself then samples everything it is given. Unset, the sampler is `parentbased_traceidratio` at
//! [`DEFAULT_RATIO`]: a caller's sampled `traceparent` is always followed, and 1 new trace in 100 is kept, which
//! keeps the cost of tracing within 5% (docs/benchmarks.md). Compose sets `parentbased_always_on`, so that every
//! click of the demo can be found in Jaeger.
//!
//! Export never blocks a request: spans go to the SDK's batch processor (its own thread, bounded queue). Spans that
//! cannot be exported are counted in `otel_spans_dropped_total{reason}`: `queue_full` when the queue is at capacity,
//! `export_failed` when the Collector refused them or was unreachable.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    Context, KeyValue,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    trace::{SpanKind, TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{
        BatchConfigBuilder, BatchSpanProcessor, IdGenerator, RandomIdGenerator, Sampler, SamplingDecision,
        SdkTracerProvider, ShouldSample, Span, SpanData, SpanExporter, SpanProcessor,
    },
};
use tracing_subscriber::{Layer, registry::LookupSpan};

use super::queue::ExportQueue;
use crate::config::ConfigError;

/// How long the final flush of each pipeline (spans, logs) may take.
pub(super) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// The share of new traces kept when `OTEL_TRACES_SAMPLER` is unset.
pub const DEFAULT_RATIO: f64 = 0.01;

/// The sampler [`sampled`] asks; unset while export is off, so nothing is traced then.
static SAMPLER: OnceLock<Box<dyn ShouldSample>> = OnceLock::new();

/// Whether a request whose incoming context is `parent` is traced. Called before any span of it exists.
pub fn sampled(parent: &Context, name: &str) -> bool {
    let Some(sampler) = SAMPLER.get() else { return false };
    let span = parent.span();
    let remote = span.span_context();
    // A new trace is judged on a fresh id. tracing-opentelemetry then draws its own, so a ratio decision is not tied
    // to the id the trace ends up with; nothing downstream re-samples this service's traces, so nothing depends on it.
    let trace_id = if remote.is_valid() { remote.trace_id() } else { RandomIdGenerator::default().new_trace_id() };
    let result = sampler.should_sample(Some(parent), trace_id, name, &SpanKind::Server, &[], &[]);
    matches!(result.decision, SamplingDecision::RecordAndSample)
}

/// The sampler named by `OTEL_TRACES_SAMPLER` (the specification's names) with its ratio from
/// `OTEL_TRACES_SAMPLER_ARG` (default 1.0, as specified), or the default above when unset or empty. Unlike the SDK,
/// which falls back to tracing everything with a warning nobody sees at start-up, an unknown name or an invalid ratio
/// is a configuration error: a typo must not silently bring back the cost of tracing every request.
fn sampler_from_env() -> Result<Sampler, ConfigError> {
    let Some(name) = env_var("OTEL_TRACES_SAMPLER").filter(|n| !n.is_empty()) else {
        return Ok(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(DEFAULT_RATIO))));
    };
    let ratio = || match env_var("OTEL_TRACES_SAMPLER_ARG") {
        None => Ok(1.0),
        Some(arg) => arg.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| {
            ConfigError::new("OTEL_TRACES_SAMPLER_ARG", format!("invalid ratio '{arg}': expected a number from 0 to 1"))
        }),
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name.as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        other => {
            return Err(ConfigError::new(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "unsupported sampler '{other}'; supported: always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ),
            ));
        }
    })
}

/// A running trace pipeline.
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// `None` when export is switched off by `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
    pub fn from_env(resource: Resource) -> Result<Option<Self>, ConfigError> {
        if switched_off("OTEL_TRACES_EXPORTER") {
            return Ok(None);
        }
        opentelemetry::global::set_text_map_propagator(propagators(env_var("OTEL_PROPAGATORS").as_deref())?);
        check_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .build()
            .map_err(|e| ConfigError::new("OTEL_EXPORTER_OTLP_ENDPOINT", e.to_string()))?;
        describe_metrics();
        let queue =
            ExportQueue::from_env("OTEL_BSP_MAX_QUEUE_SIZE", "otel_spans_dropped_total", "otel_spans_exported_total")?;
        let batch = BatchSpanProcessor::builder(CountingExporter { inner: exporter, queue: queue.clone() })
            .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(queue.capacity()).build())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            // The decision was taken by `sampled` before the span was opened.
            .with_sampler(Sampler::AlwaysOn)
            .with_span_processor(BoundedProcessor { inner: batch, queue })
            .build();
        let _ = SAMPLER.set(Box::new(sampler_from_env()?));
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("visit-counter"))
            .with_error_records_to_exceptions(true)
    }

    /// Export what is queued and stop, giving up after [`SHUTDOWN_TIMEOUT`] so an unreachable Collector cannot hold
    /// the exit past the orchestrator's kill deadline. Called once, before exit.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            eprintln!("visit-counter: exporting the last spans failed: {e}");
        }
    }
}

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
pub fn resource() -> Resource {
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

fn propagators(list: Option<&str>) -> Result<TextMapCompositePropagator, ConfigError> {
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

fn describe_metrics() {
    metrics::describe_counter!(
        "otel_spans_dropped_total",
        "Spans that were never exported: reason=queue_full (export queue at capacity) or export_failed."
    );
    metrics::describe_counter!("otel_spans_exported_total", "Spans the Collector accepted.");
}

/// Hands spans to the batch processor only while its queue has room (see [`ExportQueue`]), counting the rest.
#[derive(Debug)]
struct BoundedProcessor {
    inner: BatchSpanProcessor,
    queue: ExportQueue,
}

impl SpanProcessor for BoundedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.queue.admit() {
            self.inner.on_end(span);
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

/// The OTLP exporter, counting outcomes and releasing the spans it was handed from the [`ExportQueue`].
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    queue: ExportQueue,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let size = batch.len();
        let result = self.inner.export(batch).await;
        self.queue.exported(size, result.is_ok());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
