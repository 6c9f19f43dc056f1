//! Telemetry in one place: the `tracing` pipeline (JSON or text logs on stdout, and spans exported over OTLP) and the
//! guard that flushes both before the process exits.
//!
//! - [`otel`]: tracer provider, exporter, resource and propagators, configured by the standard `OTEL_*` variables;
//!   bounded, never blocking a request, counting what it drops.
//! - [`http`]: the server span of each request (HTTP semantic conventions), its log line, and the `traceparent`
//!   response header.
//!
//! What is not here: Prometheus metrics live in `metrics`; the Redis client span is opened by `store`.

pub mod http;
pub mod otel;

use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, Targets, filter_fn},
    fmt,
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use crate::config::LogFormat;

/// Keeps the pipeline alive; call [`Telemetry::shutdown`] before exit so nothing buffered is lost.
#[must_use = "dropping the guard early loses buffered telemetry"]
pub struct Telemetry {
    tracing: Option<otel::Tracing>,
    _stdout: WorkerGuard,
}

impl Telemetry {
    /// Install the global subscriber. Fails (with a line naming the variable) only on invalid `OTEL_*` settings.
    pub fn init(format: LogFormat) -> Result<Self, crate::config::ConfigError> {
        let tracing = otel::Tracing::from_env()?;
        // Logs never block a request: a background thread writes them, dropping lines if it falls far behind.
        let (stdout, guard) = tracing_appender::non_blocking(std::io::stdout());
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let logs = match format {
            LogFormat::Json => fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(stdout)
                .boxed(),
            LogFormat::Text => fmt::layer().with_writer(stdout).boxed(),
        };
        // RUST_LOG filters the log lines only: traces keep every request span whatever the log level. The spans layer
        // needs no filter of its own (a per-layer filter costs bookkeeping on every span enter and exit): only this
        // crate opens spans, and `exporter_internals` keeps everything else quiet.
        let spans = tracing.as_ref().map(otel::Tracing::layer);
        // Log lines are events only and carry their own ids (see `http::observe`): spans are not formatted for logs.
        let logs = logs.with_filter(filter.and(filter_fn(|meta| meta.is_event())));
        tracing_subscriber::registry().with(exporter_internals()).with(logs).with(spans).init();
        Ok(Self { tracing, _stdout: guard })
    }

    /// Export every finished span, then flush the log writer (on drop). Errors go to stderr: the process is exiting.
    pub fn shutdown(self) {
        if let Some(tracing) = self.tracing {
            tracing.shutdown();
        }
    }
}

/// The exporter's own HTTP/gRPC stack (hyper, h2, tonic, reqwest, tower) and the SDK speak only at WARN and above, so
/// exporting telemetry never produces more telemetry.
fn exporter_internals() -> Targets {
    Targets::new()
        .with_default(Level::TRACE)
        .with_target("hyper", Level::WARN)
        .with_target("hyper_util", Level::WARN)
        .with_target("h2", Level::WARN)
        .with_target("tonic", Level::WARN)
        .with_target("reqwest", Level::WARN)
        .with_target("tower", Level::WARN)
        .with_target("opentelemetry", Level::WARN)
        .with_target("opentelemetry_sdk", Level::WARN)
        .with_target("opentelemetry_otlp", Level::WARN)
}
