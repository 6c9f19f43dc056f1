//! `cargo xtask chaos` on the compose stack: Redis killed with SIGKILL and restarted (stop + start, SIGTERM), and a
//! replica killed, under load through NGINX — the invariants of the chaos suite (acknowledged ≤ final ≤ sent, fast
//! 503s while Redis is down, recovery without an app restart) judged by the same verdict as on the native twin.

use std::time::Duration;

use harness::chaos::{Scenario, Settings, compose::Compose, verdict};

use crate::project::Project;

pub(crate) fn invariants_hold(project: &Project) -> Result<String, String> {
    let settings = Settings {
        cycles: 2,
        concurrency: 16,
        down: Duration::from_millis(1500),
        between: Duration::from_millis(2000),
        replica_gap: Duration::from_millis(6000),
        bound: Duration::from_millis(1000),
        recovery_target: Duration::from_millis(1000),
    };
    let mut compose = Compose { dir: project.root.clone() };
    let mut rows = vec![verdict::table_header().to_owned()];
    let mut broken = Vec::new();
    for scenario in [Scenario::RedisKill, Scenario::RedisTerm, Scenario::ReplicaKill] {
        let report = harness::chaos::run(&mut compose, scenario, &settings)?;
        rows.push(report.row());
        if !report.passed() {
            broken.push(format!("{}: {}", scenario.name(), report.violations.join("; ")));
        }
    }
    let table = rows.join("\n");
    if broken.is_empty() { Ok(table) } else { Err(format!("{table}\n{}", broken.join("\n"))) }
}
