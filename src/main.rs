//! The `visit-counter` binary: parse the configuration, start telemetry, serve until SIGTERM/SIGINT, drain, flush.

use std::process::ExitCode;

use visit_counter::{
    config::{Cli, Command},
    healthcheck, metrics, shutdown,
    startup::{Application, Drain},
    telemetry::Telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::from_env() {
        Ok(cli) => cli,
        Err(e) => return fail(2, e),
    };
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck::probe(cli.config.port).await.map_or_else(|e| fail(1, e), |()| ExitCode::SUCCESS);
    }

    // The recorder first: the telemetry pipelines register their own counters (at zero) as they start.
    let metrics = match metrics::install() {
        Ok(handle) => handle,
        Err(e) => return fail(1, e),
    };
    let telemetry = match Telemetry::init(cli.config.log_format) {
        Ok(telemetry) => telemetry,
        Err(e) => return fail(2, e),
    };
    let signals = match shutdown::Signals::install() {
        Ok(signals) => signals,
        Err(e) => return fail(1, format_args!("cannot listen for signals: {e}")),
    };
    let app = match Application::build(&cli.config, metrics).await {
        Ok(app) => app,
        Err(e) => return fail(2, e),
    };
    tracing::info!(address = %app.local_addr().map(|a| a.to_string()).unwrap_or_default(), config = ?cli.config, "listening");

    let drain = app.run_until_stopped(signals.recv()).await;
    if drain == Drain::Abandoned {
        tracing::warn!("grace period over with requests still in flight; exiting anyway");
    }
    telemetry.shutdown();
    if drain == Drain::Complete { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("visit-counter: {message}");
    ExitCode::from(code)
}
