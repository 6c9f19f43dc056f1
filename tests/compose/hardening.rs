//! Health and hardening as the engine applies them, read from `docker inspect` of the running containers — not from
//! the compose file (tests/policy/compose_policy.rs reads that).

use serde_json::Value;

use crate::project::Project;

/// Every container of every service started: running and healthy (init: exited 0, it is a one-shot).
pub(crate) fn every_service_is_healthy(project: &Project) -> Result<String, String> {
    let mut healthy = Vec::new();
    for service in &project.services {
        for id in project.containers(service)? {
            let state = project.inspect(&id)?["State"].clone();
            let ok = if service == "init" {
                state["Status"] == "exited" && state["ExitCode"] == 0
            } else {
                state["Status"] == "running" && state["Health"]["Status"] == "healthy"
            };
            if !ok {
                return Err(format!("{service} ({id:.12}) is {} / {}", state["Status"], state["Health"]["Status"]));
            }
            healthy.push(service.clone());
        }
    }
    healthy.dedup();
    Ok(format!("{} services healthy ({}), init exited 0", healthy.len() - 1, healthy.join(", ")))
}

pub(crate) fn hardening_in_force(project: &Project) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut published = Vec::new();
    let mut count = 0;
    for service in &project.services {
        for id in project.containers(service)? {
            let c = project.inspect(&id)?;
            count += 1;
            let (config, host) = (&c["Config"], &c["HostConfig"]);
            let user = config["User"].as_str().unwrap_or_default();
            let uid = user.split(':').next().unwrap_or_default();
            if uid.is_empty() || uid == "0" || uid == "root" {
                problems.push(format!("{service}: runs as root ({user:?})"));
            }
            if host["ReadonlyRootfs"] != true {
                problems.push(format!("{service}: root filesystem writable"));
            }
            let dropped = host["CapDrop"].as_array().is_some_and(|caps| caps.iter().any(|c| c == "ALL"));
            if !dropped || host["CapAdd"].as_array().is_some_and(|caps| !caps.is_empty()) {
                problems.push(format!("{service}: capabilities {} / {}", host["CapDrop"], host["CapAdd"]));
            }
            let nnp = host["SecurityOpt"].as_array().is_some_and(|o| o.iter().any(|o| o == "no-new-privileges:true"));
            if !nnp {
                problems.push(format!("{service}: no-new-privileges not set"));
            }
            for limit in ["Memory", "NanoCpus", "PidsLimit"] {
                if host[limit].as_i64().unwrap_or(0) <= 0 {
                    problems.push(format!("{service}: no {limit} limit"));
                }
            }
            for (port, bindings) in c["NetworkSettings"]["Ports"].as_object().into_iter().flatten() {
                for binding in bindings.as_array().into_iter().flatten() {
                    published.push(format!(
                        "{service} {}:{} → {port}",
                        binding["HostIp"].as_str().unwrap_or(""),
                        binding["HostPort"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    published.sort();
    published.dedup();
    for binding in &published {
        let public_nginx = binding.starts_with("nginx 0.0.0.0:") || binding.starts_with("nginx :::");
        if !(public_nginx || binding.contains(" 127.0.0.1:")) {
            problems.push(format!("published beyond loopback: {binding}"));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    Ok(format!(
        "{count} containers: non-root, read-only root, cap_drop ALL, no-new-privileges, memory/cpu/pids limits\n\
         published: {}",
        published.join("; ")
    ))
}

/// Redis answers only with credentials; the networks that reach beyond the engine are the edge and the UIs'.
pub(crate) fn redis_and_networks(project: &Project) -> Result<String, String> {
    let anonymous = project.exec("redis", &["redis-cli", "PING"]).unwrap_or_else(|e| e);
    if !anonymous.contains("NOAUTH") && !anonymous.contains("WRONGPASS") && !anonymous.contains("NOPERM") {
        return Err(format!("redis-cli PING without credentials answered {anonymous:?}"));
    }
    let default =
        project.exec("redis", &["redis-cli", "--user", "default", "--pass", "", "PING"]).unwrap_or_else(|e| e);
    if default.contains("PONG") {
        return Err("the default user logs in without a password".into());
    }
    let mut external = Vec::new();
    let names = project.docker(&[
        "network",
        "ls",
        "--filter",
        &format!("label=com.docker.compose.project={}", crate::project::NAME),
        "--format",
        "{{.Name}}",
    ])?;
    for network in names.lines() {
        let inspected: Value =
            serde_json::from_str(&project.docker(&["network", "inspect", network])?).map_err(|e| e.to_string())?;
        if inspected[0]["Internal"] != true {
            external.push(network.trim_start_matches(&format!("{}_", crate::project::NAME)).to_owned());
        }
    }
    external.sort();
    if external != ["edge", "ui"] {
        return Err(format!("networks not internal: {external:?} (only edge and ui may be)"));
    }
    Ok(format!("anonymous PING: {anonymous:?}; networks with a way out: {external:?}, every other internal"))
}
