//! CPU time by container group of a compose project (the replicas, NGINX, Redis, the Collector, Jaeger, the Loki
//! stand-in, the rest of the stack), read from each container's cgroup (v1 `cpuacct.usage`, as Docker 20.10 lays it
//! out here) before and after a load run, and the Docker engine's own (dockerd, containerd and the shims, from
//! /proc): who pays for a request in the compose suite.

use harness::compose::Project;

/// Containers (or, for the engine, processes) whose CPU time is read together.
pub(super) struct Group {
    pub name: &'static str,
    ids: Vec<String>,
    pids: Vec<i32>,
}

/// The groups of `project`: its `web`, `nginx` and `redis` containers, and every other container of it.
pub(super) fn groups(project: &Project) -> Result<Vec<Group>, String> {
    let ids = |args: &[&str]| -> Result<Vec<String>, String> {
        Ok(project.compose(args)?.lines().map(str::to_owned).collect())
    };
    let mut groups = Vec::new();
    let mut named = Vec::new();
    let named_services = [
        ("replicas", "web"),
        ("NGINX", "nginx"),
        ("Redis", "redis"),
        ("Collector", "otel-collector"),
        ("Jaeger", "jaeger"),
        ("Loki stand-in", "loki"),
    ];
    for (name, service) in named_services {
        // A service the project does not have (the peer has only three) is an empty group.
        let found = ids(&["ps", "--quiet", "--no-trunc", service]).unwrap_or_default();
        named.extend(found.iter().cloned());
        groups.push(Group { name, ids: found, pids: Vec::new() });
    }
    let rest = ids(&["ps", "--quiet", "--no-trunc"])?.into_iter().filter(|id| !named.contains(id)).collect();
    groups.push(Group { name: "rest of the stack", ids: rest, pids: Vec::new() });
    groups.push(Group { name: "Docker engine", ids: Vec::new(), pids: engine_pids()? });
    Ok(groups)
}

/// dockerd, containerd and the containerd shims: they carry every container's stdout to the json-file logs.
fn engine_pids() -> Result<Vec<i32>, String> {
    let all = procfs::process::all_processes().map_err(|e| format!("cannot list processes: {e}"))?;
    let engine = |comm: &str| comm == "dockerd" || comm == "containerd" || comm.starts_with("containerd-shim");
    Ok(all.filter_map(Result::ok).filter_map(|p| p.stat().ok()).filter(|s| engine(&s.comm)).map(|s| s.pid).collect())
}

/// CPU seconds each group has used so far.
pub(super) fn usage(groups: &[Group]) -> Result<Vec<f64>, String> {
    groups
        .iter()
        .map(|g| {
            let containers: f64 = g.ids.iter().map(|id| seconds(id)).sum::<Result<f64, String>>()?;
            Ok(containers + g.pids.iter().map(|pid| process_seconds(*pid)).sum::<f64>())
        })
        .collect()
}

/// User and system time of process `pid` (0 once it has exited).
fn process_seconds(pid: i32) -> f64 {
    let stat = procfs::process::Process::new(pid).and_then(|p| p.stat());
    stat.map_or(0.0, |s| (s.utime + s.stime) as f64 / procfs::ticks_per_second() as f64)
}

fn seconds(id: &str) -> Result<f64, String> {
    let path = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read the CPU time of container {id}: {path}: {e} (see: docker info | grep -i cgroup)")
    })?;
    text.trim().parse::<f64>().map(|ns| ns / 1e9).map_err(|e| format!("{path}: {e}"))
}
