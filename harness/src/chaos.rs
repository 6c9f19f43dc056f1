//! The chaos scenarios (`cargo xtask chaos`, the twin and compose suites): load through NGINX while Redis is restarted (SIGTERM and SIGKILL, on the same data) or
//! replicas are killed or restarted one by one, then a verdict on the invariants of docs/load-and-chaos.md (see [`verdict`]).
//!
//! The schedule's pauses (how long Redis stays down, how long the load runs between cycles) are the scenario's
//! behaviour, not synchronisation: every stop and start waits for its process by polling with a deadline.
//!
//! # Layout
//! - [`faults`]: the injector trait and the native twin's implementation; [`compose`]: the Docker one.
//! - [`probe`]: `/healthz` (and `/readyz` on the replicas' own ports) polled during Redis scenarios; [`verdict`]: the
//!   checks, table and JSON. The command and its timeline picture are xtask's.

pub mod compose;
pub mod faults;
pub mod probe;
pub mod verdict;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;

use crate::load::{self, Plan, Tally};
use faults::Faults;
use verdict::Report;

/// What a scenario does to the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Redis stopped with SIGTERM (AOF flushed), kept down, started again: every cycle.
    RedisTerm,
    /// Redis killed with SIGKILL (crash), kept down, started again: every cycle.
    RedisKill,
    /// One replica killed with SIGKILL under load, kept down, started again: every cycle (next replica each time).
    ReplicaKill,
    /// Every replica in turn out of the balancer, stopped with SIGTERM, started again and put back (cycle = all).
    Rolling,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::RedisTerm => "redis SIGTERM",
            Scenario::RedisKill => "redis SIGKILL",
            Scenario::ReplicaKill => "replica SIGKILL",
            Scenario::Rolling => "rolling restart",
        }
    }

    pub fn restarts_redis(self) -> bool {
        matches!(self, Scenario::RedisTerm | Scenario::RedisKill)
    }
}

/// How hard and how long.
#[derive(Clone, Debug)]
pub struct Settings {
    pub cycles: usize,
    pub concurrency: usize,
    /// How long the stopped process stays down.
    pub down: Duration,
    /// Load before the first fault, between cycles and after the last one.
    pub between: Duration,
    /// Load after each replica fault. NGINX skips a replica that failed once for `fail_timeout` (5 s): faults closer
    /// together than that leave no replica in rotation ("no live upstreams"), which would measure NGINX, not the fault.
    pub replica_gap: Duration,
    /// No request may take longer than this (the client timeout is set a little above it).
    pub bound: Duration,
    /// The longest acceptable time from Redis accepting connections to the first success.
    pub recovery_target: Duration,
}

/// A mark on the timeline: what happened to which process, when.
#[derive(Clone, Debug)]
pub struct Event {
    pub at: Duration,
    pub kind: EventKind,
    pub target: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The signal was sent.
    Stop(Signal),
    /// The process has exited.
    Down,
    /// It is being started again.
    Start,
    /// It serves again (Redis: answers PING; a replica: listens).
    Up,
}

/// Run `scenario` against `faults` and judge it.
pub fn run(faults: &mut dyn Faults, scenario: Scenario, settings: &Settings) -> Result<Report, String> {
    let runtime = load::runtime()?;
    let before = faults.counter()?;
    let plan = Plan {
        url: faults.count_url(),
        concurrency: settings.concurrency,
        rate: None,
        duration: Duration::from_secs(600),
        max_requests: u64::MAX,
        timeout: settings.bound + Duration::from_secs(1),
        mix: load::Mix::default(),
    };
    let tally = Arc::new(Tally::default());
    let epoch = Instant::now();
    let load = runtime.spawn({
        let tally = tally.clone();
        async move { load::drive(&plan, epoch, tally).await }
    });
    let progress = runtime.spawn(load::summary::progress(tally.clone(), epoch, scenario.name()));
    let paths = faults.probe_paths();
    let probe = scenario.restarts_redis().then(|| probe::Probe::start(faults.probe_ports(), paths, epoch));
    let mut events = Vec::new();
    let schedule = inject(faults, scenario, settings, epoch, &mut events);
    tally.stop();
    let records = runtime.block_on(load).map_err(|e| format!("load: {e}"))?;
    progress.abort();
    eprintln!("\r{}", load::summary::line(&tally, epoch, scenario.name()));
    let answers = probe.map(probe::Probe::finish).unwrap_or_default();
    schedule?;
    let records = records?;
    let after = faults.counter()?;
    let readiness = scenario.restarts_redis() && paths.contains(&"/readyz");
    let ready_after = readiness.then(|| verdict::ready_again(&faults.probe_ports()));
    let (counted, rotation) = (after - before, faults.has_rotation());
    Ok(Report::judge(scenario, settings, records, events, answers, counted, ready_after, rotation, epoch.elapsed()))
}

/// The fault schedule of `scenario`, recording each step in `events`.
fn inject(
    faults: &mut dyn Faults,
    scenario: Scenario,
    s: &Settings,
    epoch: Instant,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    let mut mark =
        |kind: EventKind, target: &str| events.push(Event { at: epoch.elapsed(), kind, target: target.into() });
    std::thread::sleep(s.between);
    let replicas = faults.replicas().max(1);
    for cycle in 0..s.cycles {
        match scenario {
            Scenario::RedisTerm | Scenario::RedisKill => {
                let signal = if scenario == Scenario::RedisTerm { Signal::SIGTERM } else { Signal::SIGKILL };
                mark(EventKind::Stop(signal), "redis");
                faults.stop_redis(signal)?;
                mark(EventKind::Down, "redis");
                std::thread::sleep(s.down);
                mark(EventKind::Start, "redis");
                faults.start_redis()?;
                mark(EventKind::Up, "redis");
            }
            Scenario::ReplicaKill => {
                let (index, name) = (cycle % replicas, format!("web-{}", cycle % replicas + 1));
                mark(EventKind::Stop(Signal::SIGKILL), &name);
                faults.stop_replica(index, Signal::SIGKILL)?;
                mark(EventKind::Down, &name);
                std::thread::sleep(s.down);
                mark(EventKind::Start, &name);
                faults.start_replica(index)?;
                mark(EventKind::Up, &name);
                std::thread::sleep(s.replica_gap.saturating_sub(s.between));
            }
            Scenario::Rolling => {
                for index in 0..replicas {
                    let name = format!("web-{}", index + 1);
                    // As an orchestrator does: out of the balancer first, so no request is routed to a replica
                    // whose port is about to close; then SIGTERM (it drains), start, and back in once ready.
                    faults.set_out_of_rotation(index, true)?;
                    mark(EventKind::Stop(Signal::SIGTERM), &name);
                    faults.stop_replica(index, Signal::SIGTERM)?;
                    mark(EventKind::Down, &name);
                    mark(EventKind::Start, &name);
                    faults.start_replica(index)?;
                    mark(EventKind::Up, &name);
                    faults.set_out_of_rotation(index, false)?;
                    std::thread::sleep(s.replica_gap);
                }
            }
        }
        std::thread::sleep(s.between);
    }
    Ok(())
}
