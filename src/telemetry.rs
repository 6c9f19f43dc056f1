//! Telemetry: the `tracing` pipeline (JSON or text logs on stdout; spans and log records exported over OTLP) and
//! the guard that flushes it before the process exits. Split by what each part does:
//!
//! - [`traces`]: the trace pipeline (tracer provider, exporter, the `tracing` layer);
//! - [`logs`]: the log pipeline (the tracing → OpenTelemetry logs bridge), same resource, each record carrying the
//!   trace and span ids of the request it was written in;
//! - [`sampling`]: which requests are traced, decided before their spans exist;
//! - `export`: what both pipelines share to export without ever blocking a request, counting what they drop;
//! - `env`: the `OTEL_*` variables read here, the resource and the propagators.
//!
//! What is not here: the server span and the access log line are opened and written by `middleware`; the Redis
//! client span by `store`; Prometheus metrics live in `metrics`.

mod env;
mod export;
pub mod logs;
pub mod sampling;
pub mod traces;

use tracing::{Level, Metadata, subscriber::Interest};
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, Targets, dynamic_filter_fn, filter_fn},
    fmt,
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::{
    config::{LogFormat, RequestLog},
    middleware::ACCESS_LOG,
    startup::StartupError,
};

/// Keeps the pipeline alive; call [`Telemetry::shutdown`] before exit so nothing buffered is lost.
#[must_use = "dropping the guard early loses buffered telemetry"]
#[derive(Debug)]
pub struct Telemetry {
    tracing: Option<traces::Tracing>,
    logs: Option<logs::Logs>,
    _stdout: WorkerGuard,
}

impl Telemetry {
    /// Install the global subscriber. Fails (with a line naming the variable) only on invalid `OTEL_*` settings.
    pub fn init(format: LogFormat, requests: RequestLog) -> Result<Self, StartupError> {
        let resource = env::resource();
        // Each pipeline is off when `OTEL_SDK_DISABLED=true` or its `OTEL_<SIGNAL>_EXPORTER` is `none`.
        let on = |exporter: &str| !env::switched_off(exporter);
        let tracing = on("OTEL_TRACES_EXPORTER").then(|| traces::Tracing::from_env(resource.clone())).transpose()?;
        let exported_logs = on("OTEL_LOGS_EXPORTER").then(|| logs::Logs::from_env(resource)).transpose()?;
        // Logs never block a request: a background thread writes them, dropping lines if it falls far behind.
        let (stdout, guard) = tracing_appender::non_blocking(std::io::stdout());
        // RUST_LOG filters the log lines only: traces keep every request span whatever the log level. The spans layer
        // needs no filter of its own (a per-layer filter costs bookkeeping on every span enter and exit): only this
        // crate opens spans, and `exporter_internals` keeps everything else quiet.
        let spans = tracing.as_ref().map(traces::Tracing::layer);
        // Log lines are events only and carry their own ids (see `middleware`): spans are not formatted for logs.
        // The access log line only with `LOG_REQUESTS=stdout` (decided once per callsite, like every filter here).
        let on_stdout = move |meta: &Metadata<'_>| {
            meta.is_event() && (requests == RequestLog::Stdout || meta.target() != ACCESS_LOG)
        };
        let lines = stdout_lines(format, stdout).with_filter(rust_log().and(filter_fn(on_stdout)));
        let records = exported_logs.as_ref().map(|l| l.layer().with_filter(rust_log().and(exported_records())));
        tracing_subscriber::registry().with(exporter_internals()).with(lines).with(spans).with(records).init();
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

/// The stdout log lines: one JSON object per event (no span fields), or text for humans.
fn stdout_lines<S>(format: LogFormat, stdout: NonBlocking) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(stdout)
            .boxed(),
        LogFormat::Text => fmt::layer().with_writer(stdout).boxed(),
    }
}

/// Which events become OTLP log records: every event, warnings and errors included, minus the exporter's own (a
/// failing export must not queue records about itself), and minus the access log lines of requests that are not
/// traced: NGINX's access log already brings every request to Loki, and exporting a record per request costs about as
/// much as writing the stdout line (docs/profile.md).
fn exported_records<S>() -> impl tracing_subscriber::layer::Filter<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let own = |meta: &Metadata<'_>| INTERNALS.iter().any(|t| meta.target().starts_with(t));
    // Spans pass (the bridge ignores them): a span this filter rejected would be invisible to `lookup_current` here.
    let wanted = move |meta: &Metadata<'_>, cx: &Context<'_, S>| {
        meta.is_span() || (!own(meta) && (meta.target() != ACCESS_LOG || cx.lookup_current().is_some()))
    };
    // Only the access log line needs asking each time; every other callsite is decided once and cached, as with a
    // static filter (otherwise every `tracing` callsite in the process, hyper's and tokio's included, would be asked
    // at run time).
    let once = move |meta: &'static Metadata<'static>| {
        if meta.is_span() {
            Interest::always()
        } else if own(meta) {
            Interest::never()
        } else if meta.target() == ACCESS_LOG {
            Interest::sometimes()
        } else {
            Interest::always()
        }
    };
    dynamic_filter_fn(wanted).with_callsite_filter(once)
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
