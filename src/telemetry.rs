//! Logging (and, later, traces): one place that sets up the `tracing` pipeline and hands back a guard to flush it.
//!
//! Logs go to stdout as JSON lines (or text for humans, `LOG_FORMAT=text`), filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

/// Keeps the pipeline alive; call [`Telemetry::shutdown`] before exit so nothing buffered is lost.
#[must_use = "dropping the guard early loses buffered telemetry"]
pub struct Telemetry {
    _private: (),
}

impl Telemetry {
    pub fn init(format: LogFormat) -> Self {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let registry = tracing_subscriber::registry().with(filter);
        match format {
            LogFormat::Json => registry
                .with(fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false))
                .init(),
            LogFormat::Text => registry.with(fmt::layer()).init(),
        }
        Self { _private: () }
    }

    /// Flush everything buffered. Logs are written synchronously, so there is nothing to do yet.
    pub fn shutdown(self) {}
}
