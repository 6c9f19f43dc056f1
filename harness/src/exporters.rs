//! The Redis and NGINX exporters (Debian's `prometheus-redis-exporter` and `prometheus-nginx-exporter`) on loopback,
//! configured as compose configures the upstream images: the Redis one logs in as its own read-only ACL user (password
//! by environment, not argv), the NGINX one reads the internal stub_status port.

use std::{path::Path, process::Command, time::Duration};

use crate::{http, process::Process};

#[derive(Debug)]
pub struct Exporter {
    pub port: u16,
    process: Process,
}

/// Where the Redis exporter logs in.
#[derive(Debug)]
pub struct RedisLogin<'a> {
    pub port: u16,
    pub user: &'a str,
    pub password_file: &'a Path,
}

impl Exporter {
    /// redis_exporter on `port`, healthy once it reports `redis_up 1` (it reached Redis as `login.user`).
    pub fn redis(log_dir: &Path, port: u16, login: &RedisLogin) -> Result<Self, String> {
        let password = std::fs::read_to_string(login.password_file)
            .map_err(|e| format!("{}: {e}", login.password_file.display()))?;
        let mut command = Command::new("prometheus-redis-exporter");
        command
            .env("REDIS_ADDR", format!("redis://127.0.0.1:{}", login.port))
            .env("REDIS_USER", login.user)
            .env("REDIS_PASSWORD", password.trim())
            .arg(format!("-web.listen-address=127.0.0.1:{port}"));
        Self::start("redis-exporter", command, log_dir, port, "redis_up 1")
    }

    /// nginx-prometheus-exporter on `port`, healthy once it reports `nginx_up 1`.
    pub fn nginx(log_dir: &Path, port: u16, status_port: u16) -> Result<Self, String> {
        let mut command = Command::new("prometheus-nginx-exporter");
        command
            .arg(format!("-nginx.scrape-uri=http://127.0.0.1:{status_port}/stub_status"))
            .arg(format!("-web.listen-address=127.0.0.1:{port}"));
        Self::start("nginx-exporter", command, log_dir, port, "nginx_up 1")
    }

    fn start(name: &str, command: Command, log_dir: &Path, port: u16, healthy: &str) -> Result<Self, String> {
        let log = log_dir.join(format!("{name}.log"));
        let mut process = Process::spawn(name, command, &log).map_err(|e| e.to_string())?;
        process.wait_ready(&format!("{name} to report {healthy}"), Duration::from_secs(20), || {
            http::get(port, "/metrics").is_ok_and(|(_, body)| body.contains(healthy))
        })?;
        Ok(Self { port, process })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn detach(&mut self) {
        self.process.detach();
    }
}
