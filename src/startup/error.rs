//! Why the process could not start (or, for `visit-counter healthcheck`, why the probe failed): one enum, each
//! variant printed by `main` as one line `visit-counter: …` and ending the process with [`StartupError::exit_code`].
//!
//! What is not here: the errors of request handling ([`crate::error::AppError`]).

use std::{io, net::SocketAddr};

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Exit 2: a flag or variable has a value this service cannot use, `OTEL_*` (read by telemetry) included.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Exit 2: a listener cannot bind; `variable` names the port's variable (`PORT`, `METRICS_PORT`).
    #[error("{variable}: cannot listen on {addr}: {source}")]
    Bind { variable: &'static str, addr: SocketAddr, source: io::Error },
    /// Exit 2: no Redis client can be built for `REDIS_HOST` (an address redis-rs rejects, or no resolver
    /// configuration).
    #[error("REDIS_HOST: {0}")]
    RedisClient(String),
    /// Exit 2: an OTLP exporter cannot be built from the `OTEL_EXPORTER_OTLP_*` variable named.
    #[error("{variable}: {reason}")]
    Telemetry { variable: &'static str, reason: String },
    /// Exit 1: the Prometheus recorder cannot be installed.
    #[error("{0}")]
    Metrics(String),
    /// Exit 1: the SIGTERM/SIGINT handlers cannot be installed.
    #[error("cannot listen for signals: {0}")]
    Signals(#[source] io::Error),
    /// Exit 1: `visit-counter healthcheck` found this replica not serving (the subcommand's answer, not a failure to
    /// start).
    #[error("{0}")]
    Unhealthy(String),
}

impl StartupError {
    /// 2 for what the operator must fix in the configuration or the environment, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Bind { .. } | Self::RedisClient(_) | Self::Telemetry { .. } => 2,
            Self::Metrics(_) | Self::Signals(_) | Self::Unhealthy(_) => 1,
        }
    }
}
