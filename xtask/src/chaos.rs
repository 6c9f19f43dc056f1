//! `cargo xtask chaos`: the scenarios of `harness::chaos` on the native twin (started here on free loopback ports,
//! stopped at the end) or on a running compose stack (`--target compose`), then the verdict table, the timeline SVG
//! ([`svg`]) and the exit status.

mod svg;

use std::{path::PathBuf, process::Command, time::Duration};

use harness::{
    chaos::{self, EventKind, Scenario, Settings, compose::Compose, faults::Native, verdict},
    paths,
    stack::{Stack, StackSpec},
};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Target {
    /// Start the native twin (Redis, replicas, NGINX on loopback) and inject faults by pid.
    Native,
    /// A compose stack already up in this directory (`docker compose up`); faults through the Docker CLI.
    Compose,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    #[arg(long, value_enum, default_value_t = Target::Native)]
    pub target: Target,
    /// Scenarios to run, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::RedisTerm, Scenario::RedisKill, Scenario::ReplicaKill, Scenario::Rolling])]
    pub scenarios: Vec<Scenario>,
    /// Faults per scenario (a rolling-restart cycle restarts every replica once).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub cycles: u16,
    /// Concurrent /count requests.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// How long a stopped process stays down, in ms.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=30_000))]
    pub down_ms: u64,
    /// Load before, between and after faults, in ms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub between_ms: u64,
    /// Load after each replica fault, in ms: more than NGINX's fail_timeout (5 s), or every replica ends up skipped.
    #[arg(long, default_value_t = 6000)]
    pub replica_gap_ms: u64,
    /// No request may take longer than this, in ms.
    #[arg(long, default_value_t = 1000)]
    pub bound_ms: u64,
    /// Target for the time from Redis accepting connections to the first success, in ms.
    #[arg(long, default_value_t = 1000)]
    pub recovery_target_ms: u64,
    /// Native twin: number of replicas.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub replicas: u16,
    /// Native twin: run the release build.
    #[arg(long)]
    pub release: bool,
    /// Where the timeline SVG goes (default: <target>/xtask/chaos/timeline.svg).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// One JSON document on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl Options {
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            cycles: usize::from(self.cycles),
            concurrency: usize::from(self.concurrency),
            down: Duration::from_millis(self.down_ms),
            between: Duration::from_millis(self.between_ms),
            replica_gap: Duration::from_millis(self.replica_gap_ms),
            bound: Duration::from_millis(self.bound_ms),
            recovery_target: Duration::from_millis(self.recovery_target_ms),
        }
    }
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    let dir = paths::target_dir().join("xtask").join("chaos");
    let settings = options.settings();
    let mut reports = Vec::new();
    match options.target {
        Target::Native => {
            let binary = build(options.release)?;
            let _ = std::fs::remove_dir_all(&dir);
            let mut spec = StackSpec::on_free_ports(dir.join("stack"), binary, usize::from(options.replicas));
            // No Collector runs natively: without this, every replica stop waits 3 s on its last span export.
            spec.env.push(("OTEL_SDK_DISABLED".into(), "true".into()));
            let mut stack = Stack::start(&spec)?;
            for &scenario in &options.scenarios {
                reports.push(chaos::run(&mut Native { stack: &mut stack }, scenario, &settings)?);
            }
        }
        Target::Compose => {
            let mut compose = Compose { dir: paths::workspace_root() };
            for &scenario in &options.scenarios {
                reports.push(chaos::run(&mut compose, scenario, &settings)?);
            }
        }
    }
    let svg_path = options.svg.clone().unwrap_or_else(|| dir.join("timeline.svg"));
    if let Some(parent) = svg_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(&svg_path, svg::timeline(&reports)).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    if options.json {
        let all: Vec<_> = reports.iter().map(verdict::Report::json).collect();
        println!("{}", json!({ "scenarios": all, "timeline_svg": svg_path }));
    } else {
        println!("\n{}", verdict::table_header());
        reports.iter().for_each(|r| println!("{}", r.row()));
        for r in reports.iter().filter(|r| !r.passed()) {
            println!("\n{} broke:", r.scenario.name());
            r.violations.iter().for_each(|v| println!("- {v}"));
        }
        println!("\ntimeline: {}", svg_path.display());
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    if failed > 0 { Err(format!("{failed} scenario(s) broke an invariant")) } else { Ok(()) }
}

fn build(release: bool) -> Result<PathBuf, String> {
    let profile = if release { "release" } else { "debug" };
    eprintln!("==> cargo build ({profile})");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "--package", "visit-counter"]);
    if release {
        build.arg("--release");
    }
    if !build.status().map_err(|e| format!("cargo build: {e}"))?.success() {
        return Err("cargo build failed".into());
    }
    Ok(paths::target_dir().join(profile).join("visit-counter"))
}
