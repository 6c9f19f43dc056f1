//! The same faults on the compose stack (`docker compose up`), through the Docker CLI. Runs wherever a Docker engine
//! does (scripts/engine.sh starts one; the acceptance suite's chaos check uses it). Load and `/healthz` probes go to NGINX on 127.0.0.1:5002, the
//! only published port; the counter is read inside the Redis container as the admin user, as its healthcheck logs in.

use std::{path::PathBuf, process::Command, time::Duration};

use nix::sys::signal::Signal;

use super::faults::Faults;
use crate::wait;

/// How long Docker may take to stop or start a container and report it healthy.
const DEADLINE: Duration = Duration::from_secs(60);

/// A compose project in `dir` (the workspace root: `docker-compose.yml`).
#[derive(Debug)]
pub struct Compose {
    pub dir: PathBuf,
}

impl Compose {
    fn docker(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .current_dir(&self.dir)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run docker: {e}"))?;
        if !out.status.success() {
            return Err(format!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Container ids of `service`, in compose's order.
    fn containers(&self, service: &str) -> Result<Vec<String>, String> {
        Ok(self.docker(&["compose", "ps", "--all", "-q", service])?.lines().map(str::to_owned).collect())
    }

    fn replica(&self, index: usize) -> Result<String, String> {
        self.containers("web")?.get(index).cloned().ok_or_else(|| format!("no web replica {index}"))
    }

    /// `redis-cli COMMAND` inside the Redis container as the admin user, logged in as its healthcheck does.
    fn admin_cli(&self, command: &str) -> Result<String, String> {
        let script = format!(
            r#"REDISCLI_AUTH="$(head -n1 /run/redis-acl/admin.password)" redis-cli --no-auth-warning --user admin {command}"#
        );
        self.docker(&["compose", "exec", "-T", "redis", "sh", "-c", &script])
    }

    fn healthy(&self, id: &str) -> bool {
        self.docker(&["inspect", "-f", "{{.State.Health.Status}}", id]).is_ok_and(|s| s == "healthy")
    }
}

impl Faults for Compose {
    fn count_url(&self) -> String {
        "http://127.0.0.1:5002/count".into()
    }

    fn probe_ports(&self) -> Vec<u16> {
        vec![5002]
    }

    /// The replicas publish no port and NGINX blocks `/readyz`: liveness through NGINX only, which also shows that
    /// NGINX keeps a replica in rotation while Redis is down. The `/count` 503s show the outage itself.
    fn probe_paths(&self) -> &'static [&'static str] {
        &["/healthz"]
    }

    fn replicas(&self) -> usize {
        self.containers("web").map_or(0, |c| c.len())
    }

    fn stop_redis(&mut self, signal: Signal) -> Result<(), String> {
        match signal {
            // `docker compose stop` sends the image's stop signal (SIGTERM for redis) and waits for the exit.
            Signal::SIGTERM => self.docker(&["compose", "stop", "redis"]).map(drop),
            other => self.docker(&["compose", "kill", "-s", other.as_str(), "redis"]).map(drop),
        }
    }

    fn start_redis(&mut self) -> Result<(), String> {
        self.docker(&["compose", "start", "redis"])?;
        // Not the healthcheck's status: its 5 s interval would mark Redis up seconds late and hide the recovery time.
        wait::until("redis to answer PING", DEADLINE, || self.admin_cli("PING").is_ok_and(|r| r == "PONG")).map(drop)
    }

    fn stop_replica(&mut self, index: usize, signal: Signal) -> Result<(), String> {
        let id = self.replica(index)?;
        match signal {
            Signal::SIGTERM => self.docker(&["stop", &id]).map(drop),
            other => self.docker(&["kill", "-s", other.as_str(), &id]).map(drop),
        }
    }

    fn start_replica(&mut self, index: usize) -> Result<(), String> {
        let id = self.replica(index)?;
        self.docker(&["start", &id])?;
        wait::until("the replica to be healthy", DEADLINE, || self.healthy(&id)).map(drop)
    }

    /// Nothing to do, and nothing that could be done: compose has no hook between NGINX and a container being stopped
    /// (NGINX re-resolves `web` every few seconds, and Docker's DNS still lists a container while it drains). On
    /// compose a rolling restart therefore shows the 502s of a replica whose port closes under NGINX (docs/load-and-chaos.md), and is
    /// judged like a replica kill (see [`Faults::has_rotation`]).
    fn set_out_of_rotation(&mut self, _index: usize, _out: bool) -> Result<(), String> {
        Ok(())
    }

    fn has_rotation(&self) -> bool {
        false
    }

    fn counter(&self) -> Result<i64, String> {
        let reply = self.admin_cli("GET visits")?;
        if reply.is_empty() { Ok(0) } else { reply.parse().map_err(|e| format!("GET visits = {reply:?}: {e}")) }
    }
}
