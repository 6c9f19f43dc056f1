//! `cargo xtask bench`: throughput and latency of release replicas on a local Redis, measured with `wrk`, always as
//! comparisons run alternately in one session so machine drift hits every configuration alike.
//!
//! - default: `/healthz` (no Redis: the replica's HTTP ceiling) against `/count` (one INCR per request) on one
//!   replica; afterwards the counter must not be below the successful `/count` responses wrk saw.
//! - `--telemetry`: `/count` on three replicas that differ only in telemetry: off (`OTEL_SDK_DISABLED=true`), the
//!   default (every span sampled, exported over OTLP/HTTP to a local sink that accepts and discards), and 10%
//!   sampling (`parentbased_traceidratio`, 0.1), reported as ratios to "off".

mod wrk;

use std::{path::PathBuf, process::Command};

use crate::{
    app::{App, AppSpec},
    redis::Redis,
    sink::Sink,
};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Compare telemetry settings on /count instead of /count against /healthz.
    #[arg(long)]
    pub telemetry: bool,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Open HTTP connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Alternating rounds per configuration.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Tokio worker threads of each replica (TOKIO_WORKER_THREADS); unset: one per core.
    #[arg(long)]
    pub workers: Option<u32>,
}

pub fn run(options: &Options) -> Result<(), String> {
    crate::paths::require("wrk", "apt-get install wrk")?;
    crate::paths::require("redis-server", "apt-get install redis-server")?;
    let target = build_release()?;
    let work = target.join("xtask").join("bench");
    let _ = std::fs::remove_dir_all(&work);
    let redis = Redis::start(&work.join("redis"))?;
    let sink = Sink::start()?;
    let start = |name: &str, env: &[(&str, &str)]| -> Result<App, String> {
        // Default settings (RUST_LOG=info: one JSON line per request, to a file) unless a row says otherwise.
        let mut all = Vec::new();
        if let Some(workers) = options.workers {
            all.push(("TOKIO_WORKER_THREADS".to_owned(), workers.to_string()));
        }
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let binary = target.join("release").join("visit-counter");
        App::start(&AppSpec { binary, redis_port: redis.port(), env: all, log: work.join(format!("{name}.log")) })
    };
    let endpoint = format!("http://127.0.0.1:{}", sink.port);
    let export = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")];
    let ratio =
        [export[0], export[1], ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")];

    let mut apps = Vec::new();
    let cases: Vec<(&str, String)> = if options.telemetry {
        apps.push(start("off", &[("OTEL_SDK_DISABLED", "true")])?);
        apps.push(start("default", &export)?);
        apps.push(start("ratio", &ratio)?);
        let labels = ["telemetry off", "default: every span sampled", "10% sampled"];
        labels.iter().zip(&apps).map(|(label, app)| (*label, app.url("/count"))).collect()
    } else {
        apps.push(start("replica", &export)?);
        vec![("/healthz (no Redis)", apps[0].url("/healthz")), ("/count (INCR)", apps[0].url("/count"))]
    };

    let mut runs: Vec<Vec<wrk::Run>> = vec![Vec::new(); cases.len()];
    for round in 1..=options.rounds {
        for (i, (label, url)) in cases.iter().enumerate() {
            eprint!("\r==> round {round}/{}: {label:<30}", options.rounds);
            runs[i].push(wrk::run(url, options.threads, options.connections, options.seconds)?);
        }
    }
    eprintln!();

    let workers = options.workers.map_or("one per core".to_owned(), |w| w.to_string());
    println!(
        "\nvisit-counter bench: {} wrk threads, {} connections, {} s x {} rounds per row, replica worker threads: {workers}\n",
        options.threads, options.connections, options.seconds, options.rounds
    );
    println!("| configuration | req/s (median) | vs first row | p50 ms | p99 ms | p99 vs first row | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let first = wrk::median(&runs[0]);
    for ((label, _), case_runs) in cases.iter().zip(&runs) {
        let m = wrk::median(case_runs);
        let errors: u64 = case_runs.iter().map(|r| r.errors).sum();
        println!(
            "| {label} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {errors} |",
            m.rps,
            m.rps / first.rps,
            m.p50_ms,
            m.p99_ms,
            m.p99_ms / first.p99_ms
        );
    }
    if options.telemetry {
        println!("\nThe OTLP sink received {} export requests.", sink.requests());
    }

    // Exactness: the counter is never below the /count successes wrk saw. It may be above: wrk stops mid-request,
    // and a request can be counted without wrk reading its 200.
    let count_runs = cases.iter().zip(&runs).filter(|((_, url), _)| url.ends_with("/count"));
    let succeeded: u64 = count_runs.flat_map(|(_, r)| r).map(|r| r.requests - r.errors).sum();
    let counted = redis.get_i64("visits")?;
    println!("Counter: {counted}; successful /count responses seen by wrk: {succeeded}.");
    if counted < succeeded as i64 {
        return Err(format!("lost counts: counter {counted} < {succeeded} acknowledged"));
    }
    drop(apps);
    Ok(())
}

fn build_release() -> Result<PathBuf, String> {
    eprintln!("==> building the release binary");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--package", "visit-counter"])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    Ok(crate::paths::target_dir())
}
