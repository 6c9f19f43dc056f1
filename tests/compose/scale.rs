//! Scaling and persistence as users do them: `docker compose up --scale`, `docker compose down` and `up` again.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use crate::{
    project::{Project, poll},
    routes::HTTP,
};

/// The replicas that answer `/count` through NGINX within `deadline`, once `wanted` distinct ones have.
fn replicas_answering(
    project: &Project,
    wanted: usize,
    deadline: Duration,
) -> Result<(BTreeSet<String>, Duration), String> {
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    poll(&format!("{wanted} distinct replicas answering through NGINX"), deadline, || {
        for _ in 0..(wanted * 4) {
            if let Ok(json) = project.json(&format!("{HTTP}/count"))
                && let Some(replica) = json["served_by"].as_str()
            {
                seen.insert(replica.to_owned());
            }
        }
        (seen.len() >= wanted).then_some(())
    })?;
    Ok((seen, started.elapsed()))
}

/// NGINX's worker processes: a reload would replace them, a restart would change the container's start time.
fn nginx_identity(project: &Project) -> Result<(String, String), String> {
    let id = project.containers("nginx")?.into_iter().next().ok_or("no nginx container")?;
    let started = project.inspect(&id)?["State"]["StartedAt"].as_str().unwrap_or_default().to_owned();
    let workers = project.docker(&["top", &id, "-o", "pid,args"])?;
    let mut pids: Vec<_> = workers
        .lines()
        .filter(|l| l.contains("worker process"))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    pids.sort();
    Ok((started, pids.join(",")))
}

pub(crate) fn scale_up_and_down(project: &Project) -> Result<String, String> {
    let before = nginx_identity(project)?;
    let scaled = Instant::now();
    project.compose(&["up", "--detach", "--wait", "--no-deps", "--scale", "web=5", "web"])?;
    let up_took = scaled.elapsed();
    let (five, spread) = replicas_answering(project, 5, Duration::from_secs(10))?;
    if nginx_identity(project)? != before {
        return Err("NGINX was restarted or reloaded while scaling".into());
    }
    project.compose(&["up", "--detach", "--wait", "--no-deps", "--scale", "web=3", "web"])?;
    let containers = project.containers("web")?.len();
    // Scaled-away replicas leave NGINX's upstream when their DNS entry expires (valid=5s); every answer is a 200.
    let after = poll("only 200s from the three replicas left", Duration::from_secs(30), || {
        let answers: Vec<_> = (0..12).map(|_| project.get(&format!("{HTTP}/count"), "application/json")).collect();
        answers.iter().all(|a| a.as_ref().is_ok_and(|a| a.status == 200)).then_some(())
    });
    after?;
    replicas_answering(project, 3, Duration::from_secs(10))?;
    if containers != 3 || five.len() != 5 {
        return Err(format!("after --scale web=3: {containers} containers"));
    }
    Ok(format!(
        "--scale web=5 took {up_took:.1?} (healthy); all 5 answered through NGINX {spread:.1?} later, same NGINX \
         workers (no reload); back to 3 containers, only 200s"
    ))
}

pub(crate) fn the_count_survives_down_and_up(project: &Project) -> Result<String, String> {
    let before = project.json(&format!("{HTTP}/count"))?["count"].as_i64().ok_or("no count")?;
    project.compose(&["down", "--timeout", "20"])?;
    let volume = format!("{}_redis-data", crate::project::NAME);
    project.docker(&["volume", "inspect", &volume]).map_err(|e| format!("{volume} is gone after down: {e}"))?;
    let started = Instant::now();
    project.up(&[])?;
    let after = project.json(&format!("{HTTP}/count"))?["count"].as_i64().ok_or("no count after up")?;
    let stored = project.counter()?;
    if after != before + 1 || stored != after {
        return Err(format!(
            "count {before} before down, {after} after up (expected {}), Redis holds {stored}",
            before + 1
        ));
    }
    Ok(format!("count {before} → down → up ({:.1?}, healthy) → {after}: kept on redis-data (AOF)", started.elapsed()))
}
