//! The pid file of a detached stack (`run/pids`): one line per process, `role pid port...`, so `stack down` can stop
//! exactly those processes and `stack status` can probe them.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};

use super::Stack;
use crate::wait;

/// One process of a detached stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `redis`, `web`, `nginx`, `redis-exporter`, `nginx-exporter` or `prometheus`.
    pub role: String,
    pub pid: u32,
    /// redis: port; web: port, metrics port; nginx: port, TLS port, status port; the others: their port.
    pub ports: Vec<u16>,
}

impl Entry {
    /// The executable name this role must have, checked before any signal so a recycled pid is never hit.
    fn program(&self) -> &str {
        match self.role.as_str() {
            "redis" => "redis-server",
            "web" => "visit-counter",
            "prometheus" => "prometheus",
            "redis-exporter" => "prometheus-redis-exporter",
            "nginx-exporter" => "prometheus-nginx-exporter",
            _ => "nginx",
        }
    }

    /// Whether the process still runs as the program it was started as.
    pub fn alive(&self) -> bool {
        let Ok(stat) = procfs::process::Process::new(self.pid as i32).and_then(|p| p.stat()) else { return false };
        // The kernel keeps 15 bytes of the name (`prometheus-redi`).
        let program: String = self.program().chars().take(15).collect();
        stat.state != 'Z' && stat.comm == program
    }
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join("run").join("pids")
}

pub fn write(dir: &Path, stack: &Stack) -> Result<(), String> {
    let mut lines = vec![format!("redis {} {}", stack.redis.pid().unwrap_or(0), stack.redis.port())];
    lines.extend(stack.replicas.iter().map(|a| format!("web {} {} {}", a.pid(), a.port, a.metrics_port)));
    let n = &stack.nginx;
    lines.push(format!("nginx {} {} {} {}", n.pid(), n.port, n.tls_port, n.status_port));
    if let Some(m) = &stack.monitoring {
        lines.push(format!("redis-exporter {} {}", m.redis_exporter.pid(), m.redis_exporter.port));
        lines.push(format!("nginx-exporter {} {}", m.nginx_exporter.pid(), m.nginx_exporter.port));
        lines.push(format!("prometheus {} {}", m.prometheus.pid(), m.prometheus.port));
    }
    std::fs::write(path(dir), lines.join("\n") + "\n").map_err(|e| format!("cannot write the pid file: {e}"))
}

/// The entries of the pid file; empty when there is none (nothing is up).
pub fn read(dir: &Path) -> Result<Vec<Entry>, String> {
    let text = match std::fs::read_to_string(path(dir)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the pid file: {e}")),
    };
    text.lines().filter(|l| !l.trim().is_empty()).map(parse).collect()
}

fn parse(line: &str) -> Result<Entry, String> {
    let mut words = line.split_whitespace();
    let role = words.next().unwrap_or_default().to_owned();
    let numbers: Vec<u32> =
        words.map(|w| w.parse().map_err(|_| format!("bad pid file line {line:?}"))).collect::<Result<_, _>>()?;
    let (&pid, ports) = numbers.split_first().ok_or_else(|| format!("bad pid file line {line:?}"))?;
    let ports: Result<Vec<u16>, String> =
        ports.iter().map(|&p| u16::try_from(p).map_err(|_| format!("bad port in {line:?}"))).collect();
    Ok(Entry { role, pid, ports: ports? })
}

/// Stop `entry` gracefully — SIGQUIT for NGINX (finish open requests, as the image's STOPSIGNAL), SIGTERM for the
/// replicas (drain) and Redis (AOF flushed) — and with SIGKILL after `deadline`.
pub fn terminate(entry: &Entry, deadline: Duration) -> Result<(), String> {
    if !entry.alive() {
        return Ok(());
    }
    let pid = Pid::from_raw(entry.pid as i32);
    let graceful = if entry.role == "nginx" { Signal::SIGQUIT } else { Signal::SIGTERM };
    nix::sys::signal::kill(pid, graceful).map_err(|e| format!("cannot signal {}: {e}", entry.pid))?;
    if wait::until(&format!("{} ({}) to exit", entry.role, entry.pid), deadline, || !entry.alive()).is_err() {
        eprintln!("{} ({}) ignored {graceful}; sending SIGKILL", entry.role, entry.pid);
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        wait::until("the process to die", Duration::from_secs(5), || !entry.alive())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_lines() {
        let entry = super::parse("nginx 42 5002 5443 8081").unwrap();
        assert_eq!((entry.role.as_str(), entry.pid, entry.ports), ("nginx", 42, vec![5002, 5443, 8081]));
        assert!(super::parse("web x 1").is_err());
    }
}
