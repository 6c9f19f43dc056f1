//! CPU time by container group of a compose project (the replicas, NGINX, Redis, the rest of the stack), read from
//! each container's cgroup (v1 `cpuacct.usage`, as Docker 20.10 lays it out here) before and after a load run: who
//! pays for a request in the compose suite.

use harness::compose::Project;

/// Containers whose CPU time is read together.
pub(super) struct Group {
    pub name: &'static str,
    ids: Vec<String>,
}

/// The groups of `project`: its `web`, `nginx` and `redis` containers, and every other container of it.
pub(super) fn groups(project: &Project) -> Result<Vec<Group>, String> {
    let ids = |args: &[&str]| -> Result<Vec<String>, String> {
        Ok(project.compose(args)?.lines().map(str::to_owned).collect())
    };
    let mut groups = Vec::new();
    let mut named = Vec::new();
    for (name, service) in [("replicas", "web"), ("NGINX", "nginx"), ("Redis", "redis")] {
        let found = ids(&["ps", "--quiet", "--no-trunc", service])?;
        named.extend(found.iter().cloned());
        groups.push(Group { name, ids: found });
    }
    let rest = ids(&["ps", "--quiet", "--no-trunc"])?.into_iter().filter(|id| !named.contains(id)).collect();
    groups.push(Group { name: "rest of the stack", ids: rest });
    Ok(groups)
}

/// CPU seconds each group has used so far.
pub(super) fn usage(groups: &[Group]) -> Result<Vec<f64>, String> {
    groups.iter().map(|g| g.ids.iter().map(|id| seconds(id)).sum()).collect()
}

fn seconds(id: &str) -> Result<f64, String> {
    let path = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read the CPU time of container {id}: {path}: {e} (see: docker info | grep -i cgroup)")
    })?;
    text.trim().parse::<f64>().map(|ns| ns / 1e9).map_err(|e| format!("{path}: {e}"))
}
