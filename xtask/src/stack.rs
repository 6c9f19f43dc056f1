//! `cargo xtask stack up|down|status`: the native twin (`harness::stack`) as a command, with its state under
//! `<target>/xtask/stack/`.

use std::{path::PathBuf, process::Command};

use harness::{
    paths,
    stack::{
        Stack, StackSpec,
        detached::{down, status},
        pids::{self, Entry},
    },
};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum StackCommand {
    /// Start Redis, N replicas and NGINX on 127.0.0.1 (detached) and return once they serve.
    Up(UpOptions),
    /// Stop the processes of `stack up` by pid (SIGTERM, SIGKILL after a deadline).
    Down {
        /// Also delete the Redis data, the generated credentials and the certificate (like `docker compose down -v`).
        #[arg(long)]
        wipe: bool,
    },
    /// Probe every process of `stack up`; exit 1 when one is down or not ready.
    Status {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct UpOptions {
    /// Number of visit-counter replicas.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub replicas: u16,
    /// Run the release binary (built with `cargo build --release`) instead of the debug one.
    #[arg(long)]
    pub release: bool,
    /// Public HTTP port, as in compose.
    #[arg(long, default_value_t = 5002)]
    pub port: u16,
    /// Public HTTPS port, as in compose.
    #[arg(long, default_value_t = 5443)]
    pub tls_port: u16,
    /// NGINX stub_status port (loopback only).
    #[arg(long, default_value_t = 8081)]
    pub status_port: u16,
    /// Prometheus port, as in compose (the exporters get free loopback ports).
    #[arg(long, default_value_t = 9090)]
    pub prometheus_port: u16,
}

/// The replicas' telemetry settings: every `OTEL_*` variable of the caller's environment; and, for each signal (spans,
/// log records) whose OTLP endpoint none of them names, that signal's export switched off — no Collector runs
/// natively, and replicas exporting to nothing would count every span or record as dropped (firing the shipped
/// `AppDroppingSpans`/`AppDroppingLogs` alerts on the twin's Prometheus) and pay for tracing every request for nothing.
fn telemetry_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vars.filter(|(k, _)| k.starts_with("OTEL_")).collect();
    let named = |k: &str| env.iter().any(|(name, v)| name == k && !v.is_empty());
    let general = named("OTEL_EXPORTER_OTLP_ENDPOINT");
    let (traces, logs) =
        (general || named("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), general || named("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"));
    match (traces, logs) {
        (false, false) => env.push(("OTEL_SDK_DISABLED".into(), "true".into())),
        (false, true) => env.push(("OTEL_TRACES_EXPORTER".into(), "none".into())),
        (true, false) => env.push(("OTEL_LOGS_EXPORTER".into(), "none".into())),
        (true, true) => {}
    }
    env
}

pub(crate) fn run(command: &StackCommand) -> Result<(), String> {
    let dir = paths::target_dir().join("xtask").join("stack");
    match command {
        StackCommand::Up(options) => up(dir, options),
        StackCommand::Down { wipe } => down(&dir, *wipe),
        StackCommand::Status { json } => status(&dir, *json),
    }
}

fn up(dir: PathBuf, options: &UpOptions) -> Result<(), String> {
    for (program, package) in [
        ("redis-server", "redis-server"),
        ("redis-cli", "redis-tools"),
        ("nginx", "nginx"),
        ("envsubst", "gettext-base"),
        ("prometheus", "prometheus"),
        ("prometheus-redis-exporter", "prometheus-redis-exporter"),
        ("prometheus-nginx-exporter", "prometheus-nginx-exporter"),
    ] {
        paths::require(program, &format!("apt-get install {package}"))?;
    }
    if pids::read(&dir)?.iter().any(Entry::alive) {
        return Err("the stack is already up (cargo xtask stack down first)".into());
    }
    let profile = if options.release { "release" } else { "debug" };
    eprintln!("==> cargo build ({profile})");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "--package", "visit-counter"]);
    if options.release {
        build.arg("--release");
    }
    if !build.status().map_err(|e| format!("cargo build: {e}"))?.success() {
        return Err("cargo build failed".into());
    }
    let spec = StackSpec {
        dir: dir.clone(),
        binary: paths::target_dir().join(profile).join("visit-counter"),
        replicas: usize::from(options.replicas),
        port: options.port,
        tls_port: options.tls_port,
        status_port: options.status_port,
        env: telemetry_env(std::env::vars()),
        monitoring: true,
        prometheus_port: options.prometheus_port,
    };
    if spec.env.iter().any(|(k, v)| k == "OTEL_SDK_DISABLED" && v == "true") {
        eprintln!("==> telemetry export off: no Collector runs natively (set OTEL_EXPORTER_OTLP_ENDPOINT to export)");
    } else if let Some((off, _)) = spec.env.iter().find(|(k, v)| k.ends_with("_EXPORTER") && v == "none") {
        eprintln!("==> {off}=none: no endpoint named for that signal");
    }
    let stack = Stack::start(&spec)?;
    println!(
        "up: {} replicas behind http://127.0.0.1:{}/ and https://127.0.0.1:{}/",
        options.replicas, spec.port, spec.tls_port
    );
    println!(
        "Prometheus: http://127.0.0.1:{}/ (shipped rules; scrapes every replica and both exporters)",
        spec.prometheus_port
    );
    println!("state, logs and data: {}", dir.display());
    stack.detach()
}

#[cfg(test)]
mod tests {
    use super::telemetry_env;

    fn vars(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn without_an_endpoint_export_is_off_and_other_variables_stay_behind() {
        let env = telemetry_env(vars(&[("HOME", "/root"), ("OTEL_SERVICE_NAME", "twin")]));
        assert_eq!(env, [("OTEL_SERVICE_NAME".into(), "twin".into()), ("OTEL_SDK_DISABLED".into(), "true".into())]);
    }

    #[test]
    fn a_named_endpoint_is_passed_on_and_only_the_signals_without_one_are_switched_off() {
        let cases = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", None),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Some("OTEL_LOGS_EXPORTER")),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", Some("OTEL_TRACES_EXPORTER")),
        ];
        for (endpoint, switched_off) in cases {
            let env = telemetry_env(vars(&[(endpoint, "http://127.0.0.1:4318"), ("OTEL_TRACES_SAMPLER", "always_on")]));
            assert!(env.contains(&(endpoint.into(), "http://127.0.0.1:4318".into())), "{env:?}");
            assert!(!env.iter().any(|(k, _)| k == "OTEL_SDK_DISABLED"), "{env:?}");
            let off: Vec<&str> = env.iter().filter(|(_, v)| v == "none").map(|(k, _)| k.as_str()).collect();
            assert_eq!(off, switched_off.into_iter().collect::<Vec<_>>(), "{endpoint}");
        }
    }
}
