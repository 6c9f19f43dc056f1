//! Telemetry in one place: the `tracing` pipeline (JSON or text logs on stdout; spans and log records exported over
//! OTLP) and the guard that flushes them before the process exits.
//!
//! - [`otel`]: tracer provider, exporter, resource and propagators, configured by the standard `OTEL_*` variables;
//!   bounded, never blocking a request, counting what it drops.
//! - [`logs`]: the same for log records (the tracing → OpenTelemetry logs bridge), same resource, each record
//!   carrying the trace and span ids of the request it was written in.
//! - [`http`]: the server span of each request (HTTP semantic conventions), its log line, and the `traceparent`
//!   response header.
//!
//! What is not here: Prometheus metrics live in `metrics`; the Redis client span is opened by `store`.

pub mod http;
pub mod logs;
pub mod otel;
mod queue;

use tracing::{Level, subscriber::Interest};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, Targets, dynamic_filter_fn, filter_fn},
    fmt,
    layer::{Context, SubscriberExt},
    util::SubscriberInitExt,
};

use crate::config::LogFormat;

/// Keeps the pipeline alive; call [`Telemetry::shutdown`] before exit so nothing buffered is lost.
#[must_use = "dropping the guard early loses buffered telemetry"]
pub struct Telemetry {
    tracing: Option<otel::Tracing>,
    logs: Option<logs::Logs>,
    _stdout: WorkerGuard,
}

impl Telemetry {
    /// Install the global subscriber. Fails (with a line naming the variable) only on invalid `OTEL_*` settings.
    pub fn init(format: LogFormat) -> Result<Self, crate::config::ConfigError> {
        let resource = otel::resource();
        let tracing = otel::Tracing::from_env(resource.clone())?;
        let exported_logs = logs::Logs::from_env(resource)?;
        // Logs never block a request: a background thread writes them, dropping lines if it falls far behind.
        let (stdout, guard) = tracing_appender::non_blocking(std::io::stdout());
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
        let logs = logs.with_filter(rust_log().and(filter_fn(|meta| meta.is_event())));
        // The same events as OTLP log records, minus the exporter's own warnings (a failing export must not queue
        // records about itself), and minus the request lines of requests that are not traced: NGINX's access log
        // already brings every request to Loki, and exporting a record per request costs about as much as writing
        // the stdout line (docs/profile.md). Every other event, warnings and errors included, is exported.
        let records = exported_logs.as_ref().map(|l| {
            let own = |meta: &tracing::Metadata<'_>| INTERNALS.iter().any(|t| meta.target().starts_with(t));
            // Spans pass (the bridge ignores them): a span this filter rejected would be invisible to
            // `lookup_current` here.
            let wanted = move |meta: &tracing::Metadata<'_>, cx: &Context<'_, _>| {
                meta.is_span() || (!own(meta) && (meta.target() != http::REQUEST_LINE || cx.lookup_current().is_some()))
            };
            // Only the request line needs asking each time; every other callsite is decided once and cached, as
            // with a static filter (otherwise every `tracing` callsite in the process, hyper's and tokio's
            // included, would be asked at run time).
            let once = move |meta: &'static tracing::Metadata<'static>| {
                if meta.is_span() {
                    Interest::always()
                } else if own(meta) {
                    Interest::never()
                } else if meta.target() == http::REQUEST_LINE {
                    Interest::sometimes()
                } else {
                    Interest::always()
                }
            };
            l.layer().with_filter(rust_log().and(dynamic_filter_fn(wanted).with_callsite_filter(once)))
        });
        tracing_subscriber::registry().with(exporter_internals()).with(logs).with(spans).with(records).init();
        Ok(Self { tracing, logs: exported_logs, _stdout: guard })
    }

    /// Export every finished span and every log record — both at once, so the exit waits at most one
    /// `SHUTDOWN_TIMEOUT` (3 s) for them, not one per pipeline — then flush the stdout writer. Errors go to stderr:
    /// the process is exiting.
    pub fn shutdown(self) {
        let Self { tracing, logs, _stdout: stdout } = self;
        std::thread::scope(|scope| {
            if let Some(logs) = logs {
                scope.spawn(move || logs.shutdown());
            }
            if let Some(tracing) = tracing {
                tracing.shutdown();
            }
        });
        drop(stdout);
    }
}

/// `RUST_LOG` (default `info`): filters the log lines and the exported log records, never the spans.
fn rust_log() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The exporter's own HTTP/gRPC stack and the SDK.
const INTERNALS: [&str; 7] = ["hyper", "h2", "tonic", "reqwest", "tower", "opentelemetry", "tracing_opentelemetry"];

/// The exporter's own HTTP/gRPC stack (hyper, h2, tonic, reqwest, tower) and the SDK speak only at WARN and above, so
/// exporting telemetry never produces more telemetry.
fn exporter_internals() -> Targets {
    INTERNALS.iter().fold(Targets::new().with_default(Level::TRACE), |targets, t| targets.with_target(*t, Level::WARN))
}
