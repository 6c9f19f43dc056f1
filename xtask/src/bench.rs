//! `cargo xtask bench`: what the service costs, measured on the native twin, always as comparisons run alternately
//! in one session (round after round) so machine drift hits every row alike. Seven suites:
//!
//! - `proxy`: `/count` through NGINX on 3 replicas against `/healthz` through the same NGINX (how close the Redis
//!   path comes to the proxy's ceiling) and against `/count` on one replica without NGINX, with compose's settings
//!   and with the app's default sampler, and through NGINX with telemetry off; the CPU each request costs, by process;
//!   each replica's resident memory idle and at its peak under that load;
//! - `telemetry`: `/count` on replicas that differ only in telemetry — off (`OTEL_SDK_DISABLED=true`), the default
//!   (1 new trace in 100, log records exported), the default without log records (`OTEL_LOGS_EXPORTER=none`),
//!   compose's sampler, every span sampled — all exporting over OTLP/HTTP to a local sink that accepts and discards;
//!   throughput and CPU per request;
//! - `instructions`: instructions and heap allocations per `/count` under callgrind, from telemetry off to compose's
//!   settings: counts that hold on a busy machine, where the throughput suites do not;
//! - `redis`: `redis-benchmark -t incr` at the same concurrency: the ceiling Redis sets;
//! - `soak`: `/count` through NGINX for `--soak-seconds` (5 minutes): replica memory before and after;
//! - `build`: clean and incremental release build times, and the binary's size;
//! - `compose`: `/count` through NGINX on the shipped compose stack (local Docker engine, its containers' limits)
//!   against the compose getting-started Flask + Redis counter with the same limits (images/flask-peer/). It needs
//!   the Docker engine and `cargo xtask images`: a run without them fails at once, before any other suite, with one
//!   line saying so (`--only SUITE` runs a native suite alone). It holds the shipped stack's host ports
//!   (`harness::compose::HostPorts`), waiting while the acceptance suite has them.
//!
//! A run ends with the targets of issue 18 set against its own rows (`targets`): every ratio from one run.
//!
//! Every load run checks afterwards that the counter is not below the successful `/count` responses wrk saw.

mod chart;
mod compose;
mod containers;
mod cpu;
mod instructions;
mod memory;
mod redis;
mod report;
mod suites;
mod targets;
mod wrk;

use std::{path::PathBuf, process::Command};

use harness::{paths, sink::Sink};
use report::Table;

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Run one suite only (default: all of them, `compose` included, which needs the Docker engine and the images;
    /// with `--binary`, all but `compose`).
    #[arg(long, value_enum)]
    pub only: Option<Suite>,
    /// Shortcut for `--only telemetry`.
    #[arg(long)]
    pub telemetry: bool,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Open HTTP connections (and redis-benchmark clients).
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Alternating rounds per configuration.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Length of the soak suite's run.
    #[arg(long, default_value_t = 300)]
    pub soak_seconds: u32,
    /// Measure this `visit-counter` binary instead of building one: to compare commits (e.g. one built by
    /// `git worktree add`), most usefully with `--only instructions`.
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Also write the report to `<PATH>.md`, `<PATH>.json` and SVG charts beside them (e.g. `docs/benchmarks`).
    #[arg(long)]
    pub write: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Suite {
    Proxy,
    Telemetry,
    Instructions,
    Redis,
    Soak,
    Build,
    Compose,
}

/// What every suite needs: the release binary, a work directory, the OTLP sink and the load settings; and where
/// they leave the figures the targets table reads.
pub(crate) struct Bench<'a> {
    pub options: &'a Options,
    pub binary: PathBuf,
    pub work: PathBuf,
    pub sink: Sink,
    pub figures: targets::Figures,
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    let only = if options.telemetry { Some(Suite::Telemetry) } else { options.only };
    // With `--binary` the native suites measure that build; compose would build this tree's image: only when named.
    let wanted = |suite| only.map_or(suite != Suite::Compose || options.binary.is_none(), |o| o == suite);
    paths::require("redis-server", "apt-get install redis-server")?;
    // The compose suite runs last, but what it needs is checked first: a run must not fail at its end for a missing engine.
    if wanted(Suite::Compose) {
        compose::require()
            .map_err(|e| format!("the compose suite: {e} (or run a native suite alone: --only SUITE)"))?;
    }
    if [Suite::Proxy, Suite::Telemetry, Suite::Redis, Suite::Soak, Suite::Compose].into_iter().any(wanted) {
        for (program, package) in [("wrk", "wrk"), ("redis-benchmark", "redis-tools")] {
            paths::require(program, &format!("apt-get install {package}"))?;
        }
    }
    if wanted(Suite::Instructions) {
        paths::require("valgrind", "apt-get install valgrind")?;
    }
    // The compose suite runs the app as compose builds it, in its image: the native binary only for the others.
    let native = [Suite::Proxy, Suite::Telemetry, Suite::Instructions, Suite::Redis, Suite::Soak, Suite::Build];
    let (binary, target) = match &options.binary {
        Some(binary) => (binary.clone(), paths::target_dir()),
        None if native.into_iter().any(wanted) => {
            build_release().map(|target| (target.join("release").join("visit-counter"), target))?
        }
        None => (PathBuf::new(), paths::target_dir()),
    };
    let work = target.join("xtask").join("bench");
    let _ = std::fs::remove_dir_all(&work);
    let bench = Bench { options, binary, work, sink: Sink::start()?, figures: targets::Figures::default() };

    let mut tables: Vec<Table> = Vec::new();
    if wanted(Suite::Proxy) {
        tables.extend(suites::proxy(&bench)?);
    }
    if wanted(Suite::Telemetry) {
        tables.extend(suites::telemetry(&bench)?);
    }
    if wanted(Suite::Instructions) {
        tables.push(instructions::instructions(&bench)?);
    }
    if wanted(Suite::Redis) {
        tables.push(suites::redis(&bench)?);
    }
    if wanted(Suite::Soak) {
        tables.push(suites::soak(&bench)?);
    }
    if wanted(Suite::Build) {
        tables.push(suites::build(&bench)?);
    }
    if wanted(Suite::Compose) {
        tables.extend(compose::compose(&bench)?);
    }
    tables.extend(targets::table(&bench.figures, command_line()));
    eprintln!();
    println!("Measured on {}\n", report::machine());
    for table in &tables {
        println!("{}", table.markdown());
    }
    if let Some(stem) = &options.write {
        let date = Command::new("date").arg("+%Y-%m-%d").output().map_err(|e| e.to_string())?;
        report::write(stem, String::from_utf8_lossy(&date.stdout).trim(), &tables)?;
        println!("written to {0}.md and {0}.json", stem.display());
    }
    Ok(())
}

/// This run's command line, as the targets table names it.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

fn build_release() -> Result<PathBuf, String> {
    eprintln!("==> building the release binary");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--package", "visit-counter"])
        // Symbols kept (the shipped profile strips them): the instructions suite finds the allocator by name.
        .env("CARGO_PROFILE_RELEASE_STRIP", "none")
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    Ok(paths::target_dir())
}
