//! The compose acceptance suite: the shipped `docker-compose.yml` on a local Docker engine, with nothing changed but
//! the image names (`target/images.env`, from `cargo xtask images`), under a project name of its own. It is where
//! "`docker compose up` works" is proven: every check below runs against the real stack through its published ports
//! on 127.0.0.1, in order (later checks restart, scale and break what earlier ones read), and prints what it measured.
//! The stack is taken down with its volumes at the end, also when a check fails.
//!
//! The stack runs with the `load` profile (`COMPOSE_PROFILES=load`, as `docker compose --profile load up`): its load
//! generator is all the traffic the dashboard and Jaeger checks see. It is stopped before the first check that counts
//! exactly, and later `up`s leave it out.
//!
//! Without an engine or without the images it fails at once, saying which command sets them up; it never skips.
//! Grafana is not started (no image of it can exist here; its provisioning is checked by tests/twin against the real
//! Prometheus), and Loki's place is taken by the stand-in `cargo xtask images` builds (images/loki/).
//!
//! Run: `cargo test --test compose` (scripts/test.sh runs it after `cargo xtask images`).
//! `FOOTPRINT_DOC=docs/footprint.md` also writes the memory table there.

mod alerts;
mod chaos;
mod footprint;
mod hardening;
mod load;
mod metrics;
mod project;
mod routes;
mod scale;
mod traces;
mod versions;
mod webhook;

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    process::ExitCode,
    time::Instant,
};

use project::Project;

/// A check: what it proves, and the function that proves it, returning the figure it prints.
type Check = (&'static str, fn(&Project) -> Result<String, String>);

const CHECKS: &[Check] = &[
    ("every local image reports the version .env pins", versions::images_report_the_pinned_versions),
    ("every service started is healthy", hardening::every_service_is_healthy),
    ("hardening in force: non-root, read-only, no capabilities, limits, ports", hardening::hardening_in_force),
    ("Redis refuses the default user; only the edge and UI networks leave the host", hardening::redis_and_networks),
    ("the public edge serves no metrics, status or readiness pages", routes::the_edge_hides_internal_pages),
    ("a request's trace is in Jaeger with its Redis child span", traces::a_request_is_traced_to_jaeger),
    ("the app's and NGINX's log records of that request reach Loki's place", traces::its_logs_reach_loki),
    ("Prometheus: every target up, every rule loaded and healthy", metrics::targets_up_and_rules_healthy),
    (
        "every PromQL query of the dashboard has data from the load service alone",
        metrics::every_dashboard_query_has_data,
    ),
    ("span-metrics exemplars lead to traces Jaeger has", metrics::exemplars_lead_to_traces),
    ("Jaeger holds traces that began at the load generator", load::traces_begin_at_the_generator),
    ("each container's memory under load, next to its limit", footprint::memory_under_load),
    (
        "the load service logs a summary a minute; stopped, it exits 0 (only 200/404/503)",
        load::stops_with_a_clean_summary,
    ),
    // From here on nothing sends but the checks: the counts they compare are exact.
    ("/ and /count answer text, HTML and JSON through NGINX on 5002 and 5443 (TLS 1.2+)", routes::pages_through_nginx),
    ("--scale web=5: NGINX spreads over five replicas within 10 s, no reload; back to 3", scale::scale_up_and_down),
    ("down (volumes kept) and up again keeps the count", scale::the_count_survives_down_and_up),
    ("chaos: Redis SIGKILL and restart, a replica SIGKILL, under load", chaos::invariants_hold),
    (
        "alerts reach the receiver and resolve: replica paused, Redis stopped, Collector stopped",
        alerts::a_fault_reaches_the_receiver_and_resolves,
    ),
];

fn main() -> ExitCode {
    let started = Instant::now();
    let project = match Project::start() {
        Ok(project) => project,
        Err(e) => {
            eprintln!("compose: {e}");
            println!("test result: FAILED. 0 passed; {} failed; 0 ignored; 0 measured; 0 filtered out", CHECKS.len());
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0, Vec::new());
    // COMPOSE_CHECKS=TEXT runs only the checks whose description contains TEXT (and says how many it left out): for
    // working on one check. scripts/test.sh never sets it.
    let only = std::env::var("COMPOSE_CHECKS").unwrap_or_default();
    let selected: Vec<&Check> = CHECKS.iter().filter(|(what, _)| what.contains(only.as_str())).collect();
    let filtered = CHECKS.len() - selected.len();
    for (what, check) in selected {
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&project)))
            .unwrap_or_else(|panic| Err(panic.downcast_ref::<String>().cloned().unwrap_or_else(|| "panicked".into())));
        match outcome {
            Ok(figure) => {
                passed += 1;
                println!("check {what} ... ok ({:.1?})\n    {}", start.elapsed(), figure.replace('\n', "\n    "));
            }
            Err(e) => {
                println!("check {what} ... FAILED ({:.1?})\n    {}", start.elapsed(), e.replace('\n', "\n    "));
                project.diagnose();
                failed.push(*what);
            }
        }
    }
    drop(project);
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    if !failed.is_empty() {
        println!("\nfailed checks:\n{}", failed.iter().map(|f| format!("    {f}")).collect::<Vec<_>>().join("\n"));
    }
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {filtered} filtered out; finished in \
         {:.2}s",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
