//! The `compose` suite: `/count` through NGINX on the shipped compose stack (docker-compose.yml on the local Docker
//! engine, its containers with their limits, every service but Grafana) against its peer, the classic Flask + Redis
//! counter of Docker's "compose getting started" (images/flask-peer/: 3 gunicorn replicas behind NGINX, Redis with
//! AOF, the same limits), wrk on each alternately. Each stack runs under a project name of its own and is taken down
//! with its volumes at the end, also on error. The shipped stack publishes fixed host ports: the suite holds
//! [`HostPorts`] while it is up.

use std::time::Duration;

use harness::{
    compose::{HostPorts, Project},
    http, images, paths, wait,
};

use super::{
    Bench, chart,
    containers::{self, Group},
    report::Table,
    suites,
    targets::Figure,
    wrk::{self, Run},
};

const OURS: &str = "vc-bench";
const PEER: &str = "vc-bench-peer";
/// Where each stack publishes NGINX (docker-compose.yml; images/flask-peer/compose.yaml).
const OURS_PORT: u16 = 5002;
const PEER_PORT: u16 = 5003;

/// What the suite needs, checked once before a run starts (`bench::run`): an engine that answers, and the local
/// images with the peer's.
pub(super) fn require() -> Result<(), String> {
    images::require_engine()?;
    let env_file = images::env_file();
    if !env_file.is_file() {
        return Err(format!("{} is missing; build the images with: cargo xtask images", env_file.display()));
    }
    let local = images::pins::read(&env_file)?;
    if !local.contains_key("FLASK_PEER_IMAGE") {
        return Err("target/images.env has no FLASK_PEER_IMAGE; build the images with: cargo xtask images".into());
    }
    Ok(())
}

/// Both stacks up, wrk on each in turn for `rounds`, the counters checked; throughput and CPU per request.
pub(super) fn compose(bench: &Bench) -> Result<Vec<Table>, String> {
    // Declared first, dropped last: the ports are ours until both stacks are down.
    let _ports = HostPorts::lock()?;
    let (ours, peer) = start()?;
    let before = [ours_counter(&ours)?, peer_counter(&peer)?];
    let cases = [
        ("ours: the shipped stack, `/count` via NGINX", url(OURS_PORT)),
        ("peer: Flask + gunicorn + Redis, `/count` via NGINX", url(PEER_PORT)),
    ];
    let groups = [containers::groups(&ours)?, containers::groups(&peer)?];
    let (runs, cpu) = alternate(bench, &cases, &groups)?;
    // Each stack's counter against its own runs: counts lost on one cannot hide behind extra ones on the other.
    suites::check_counter(ours_counter(&ours)? - before[0], &cases[..1], &runs[..1])?;
    suites::check_counter(peer_counter(&peer)? - before[1], &cases[1..], &runs[1..])?;
    let packages = ["python3", "python3-flask", "gunicorn", "python3-redis"];
    let mut query = vec!["dpkg-query", "--show", "--showformat", "${Package} ${Version}\n"];
    query.extend(packages);
    let versions = peer.exec("web", &query)?.lines().collect::<Vec<_>>().join(", ");
    Ok(vec![table(bench, &cases, &runs, &versions), cpu_table(bench, &cases, &runs, &groups[0], &cpu)])
}

/// Each case's wrk runs, and the CPU seconds by container group its stack used in them.
type Measured = (Vec<Vec<Run>>, Vec<Vec<f64>>);

/// wrk on each stack in turn, `rounds` times, with the CPU seconds its container groups used in its own runs.
fn alternate(bench: &Bench, cases: &[(&str, String)], groups: &[Vec<Group>]) -> Result<Measured, String> {
    let o = bench.options;
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); cases.len()];
    let mut cpu: Vec<Vec<f64>> = groups.iter().map(|g| vec![0.0; g.len()]).collect();
    for round in 1..=o.rounds {
        for (i, (label, url)) in cases.iter().enumerate() {
            let label: String = label.chars().take(40).collect();
            eprint!("\r==> round {round}/{}: {label:<42}", o.rounds);
            let before = containers::usage(&groups[i])?;
            runs[i].push(wrk::run(url, o.threads, o.connections, o.seconds)?);
            let after = containers::usage(&groups[i])?;
            cpu[i].iter_mut().zip(after.iter().zip(&before)).for_each(|(sum, (a, b))| *sum += a - b);
        }
    }
    Ok((runs, cpu))
}

/// CPU microseconds per request by container group, over all of a stack's rounds.
fn cpu_table(bench: &Bench, cases: &[(&str, String)], runs: &[Vec<Run>], groups: &[Group], cpu: &[Vec<f64>]) -> Table {
    let mut columns = vec!["stack"];
    columns.extend(groups.iter().map(|g| g.name));
    columns.push("total");
    let rows = cases
        .iter()
        .zip(runs)
        .zip(cpu)
        .map(|(((label, _), runs), used)| {
            let requests = runs.iter().map(|r| r.requests).sum::<u64>().max(1) as f64;
            let per = |seconds: f64| format!("{:.0}", seconds * 1e6 / requests);
            let mut row = vec![label.to_string()];
            row.extend(used.iter().map(|s| per(*s)));
            row.push(per(used.iter().sum()));
            row
        })
        .collect();
    Table {
        title: "Where each request's CPU goes in the containers (µs per request)".into(),
        command: command(bench),
        columns,
        rows,
        notes: vec![
            "CPU time (user + system) of each container's cgroup (cpuacct.usage) before and after each wrk run, \
             divided by the requests wrk completed; the Docker engine's from /proc (dockerd, containerd and the \
             shims: they carry the containers' stdout into json-file logs). `rest of the stack`: Prometheus, \
             Alertmanager and the two exporters; the peer has none of these. The Loki stand-in (Loki cannot run \
             here) decodes each export and keeps its records as JSON: what real Loki would spend is not measured. \
             wrk and the kernel's network work outside the containers are not counted."
                .into(),
        ],
        chart: None,
    }
}

fn command(bench: &Bench) -> String {
    let o = bench.options;
    format!("cargo xtask bench --only compose --seconds {} --rounds {}", o.seconds, o.rounds)
}

/// The shipped stack (every service but Grafana, which cannot run here, and the load generator) and the peer, up and
/// answering `/count`.
fn start() -> Result<(Project, Project), String> {
    let root = paths::workspace_root();
    let ours = Project::new(OURS, &root.join("docker-compose.yml"))?;
    let peer = Project::new(PEER, &root.join("images").join("flask-peer").join("compose.yaml"))?;
    let services: Vec<String> = ours.services()?.into_iter().filter(|s| s != "grafana" && s != "load").collect();
    eprintln!("==> compose: building and starting {} ({OURS})", services.join(", "));
    ours.up(&services)?;
    eprintln!("==> compose: starting the peer ({PEER})");
    peer.up(&[])?;
    for (project, port) in [(&ours, OURS_PORT), (&peer, PEER_PORT)] {
        let what = format!("/count to answer 200 on 127.0.0.1:{port}");
        wait::until(&what, Duration::from_secs(60), || {
            http::get(port, "/count").is_ok_and(|(status, _)| status == 200)
        })
        .map_err(|e| format!("{e} (see: docker compose -p {} logs nginx web)", project.name))?;
    }
    Ok((ours, peer))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/count")
}

/// Ours, read inside the Redis container as its admin user (as its healthcheck logs in).
fn ours_counter(ours: &Project) -> Result<i64, String> {
    let script = r#"REDISCLI_AUTH="$(head -n1 /run/redis-acl/admin.password)" redis-cli --no-auth-warning --user admin GET visits"#;
    parse_counter(&ours.exec("redis", &["sh", "-c", script])?)
}

/// The peer's: the tutorial's key, no authentication.
fn peer_counter(peer: &Project) -> Result<i64, String> {
    parse_counter(&peer.exec("redis", &["redis-cli", "GET", "hits"])?)
}

fn parse_counter(reply: &str) -> Result<i64, String> {
    if reply.is_empty() { Ok(0) } else { reply.parse().map_err(|e| format!("GET of the counter = {reply:?}: {e}")) }
}

/// Medians of each, and the ratio ours / peer.
fn table(bench: &Bench, cases: &[(&str, String)], runs: &[Vec<Run>], versions: &str) -> Table {
    let title = "The shipped compose stack against the compose getting-started Flask counter";
    let medians: Vec<(String, Run)> =
        cases.iter().zip(runs).map(|((label, _), r)| (label.to_string(), wrk::median(r))).collect();
    let mut rows: Vec<Vec<String>> = medians
        .iter()
        .zip(runs)
        .map(|((label, m), case)| {
            let errors: u64 = case.iter().map(|r| r.errors).sum();
            let (p50, p99) = (format!("{:.2}", m.p50_ms), format!("{:.2}", m.p99_ms));
            vec![label.clone(), format!("{:.0}", m.rps), p50, p99, errors.to_string()]
        })
        .collect();
    bench.figures.record(Figure::ComposeOurs, medians[0].1.rps);
    bench.figures.record(Figure::ComposePeer, medians[1].1.rps);
    let ratio = medians[0].1.rps / medians[1].1.rps.max(1e-9);
    rows.push(vec!["ratio ours / peer".into(), format!("{ratio:.2}×"), String::new(), String::new(), String::new()]);
    Table {
        title: title.into(),
        command: command(bench),
        columns: vec!["stack", "req/s (median)", "p50 ms", "p99 ms", "errors"],
        rows,
        notes: notes(bench, versions),
        chart: Some(chart::latency(title, &medians)),
    }
}

fn notes(bench: &Bench, versions: &str) -> Vec<String> {
    let o = bench.options;
    vec![
        format!(
            "Both stacks on this machine's Docker engine with locally built images (`cargo xtask images`), the same \
             NGINX and Redis images, and every container with the cpu/memory/pids limits of its counterpart in \
             docker-compose.yml: 3 replicas of 0.5 CPU and 64 MiB each, NGINX 1 CPU and 64 MiB, Redis 0.5 CPU and \
             128 MiB. wrk {} threads, {} connections, {} s per run, {} rounds alternating ours and the peer; both \
             counters checked afterwards (each at least the 200s wrk saw).",
            o.threads, o.connections, o.seconds, o.rounds
        ),
        "Ours: docker-compose.yml as shipped, every service but Grafana (it cannot run here) and the load \
         generator: replicas tracing every request and exporting spans and each request's log line to the Collector \
         (`LOG_REQUESTS=otlp`: not on stdout), NGINX's access log only in the file the Collector reads \
         (`NGINX_ACCESS_LOG_STDOUT=0`), Redis AOF with `appendfsync always` and ACL logins, NGINX keeping upstream connections."
            .into(),
        format!(
            "Peer (images/flask-peer/, {versions}): the tutorial's app.py (INCR of one key per GET) under gunicorn, \
             one gthread worker with 4 threads per replica (two sync workers do not fit in 64 MiB), an access log \
             line per request; Redis `--appendonly yes` (fsync every second), no authentication; NGINX proxying \
             without upstream keep-alive, as the tutorials configure it."
        ),
    ]
}
