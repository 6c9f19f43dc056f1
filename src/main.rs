//! The `visit-counter` binary: parse the configuration, start telemetry, serve until SIGTERM/SIGINT, drain, flush.
#![warn(clippy::too_many_lines)]

use std::process::ExitCode;

use visit_counter::{
    config::{Cli, Command},
    healthcheck, metrics,
    shutdown::Signals,
    startup::{Application, Drain, StartupError},
    telemetry::Telemetry,
};

/// See the dependency's comment in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    run().await.unwrap_or_else(|e| {
        eprintln!("visit-counter: {e}");
        ExitCode::from(e.exit_code())
    })
}

async fn run() -> Result<ExitCode, StartupError> {
    let cli = Cli::from_env()?;
    if let Some(Command::Healthcheck) = cli.command {
        healthcheck::probe(cli.config.port).await.map_err(StartupError::Unhealthy)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The recorder first: the telemetry pipelines register their own counters (at zero) as they start.
    let metrics = metrics::install()?;
    let telemetry = Telemetry::init(cli.config.log_format, cli.config.log_requests)?;
    let signals = Signals::install().map_err(StartupError::Signals)?;
    let app = Application::build(&cli.config, metrics).await?;
    tracing::info!(address = %app.local_addr().map(|a| a.to_string()).unwrap_or_default(), config = ?cli.config, "listening");

    let drain = app.run_until_stopped(signals.recv()).await;
    if drain == Drain::Abandoned {
        tracing::warn!("grace period over with requests still in flight; exiting anyway");
    }
    telemetry.shutdown();
    Ok(if drain == Drain::Complete { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
