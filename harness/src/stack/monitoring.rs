//! The twin's metrics side, as in compose: the Redis and NGINX exporters and Prometheus on the shipped config (with the
//! twin's override, `crate::prometheus`), scraping every replica, both exporters and itself.

use std::path::Path;

use crate::{
    exporters::{Exporter, RedisLogin},
    init::Credentials,
    ports,
    prometheus::{Prometheus, Targets},
};

/// Fields drop in order: Prometheus first, then the exporters.
#[derive(Debug)]
pub struct Monitoring {
    pub prometheus: Prometheus,
    pub redis_exporter: Exporter,
    pub nginx_exporter: Exporter,
}

/// What the monitoring needs to know about the rest of the stack.
#[derive(Debug)]
pub struct Watched<'a> {
    pub credentials: &'a Credentials,
    pub redis_port: u16,
    pub nginx_status_port: u16,
    pub replica_metrics_ports: Vec<u16>,
}

impl Monitoring {
    /// Start both exporters, then Prometheus on `prometheus_port`; state and logs in `dir`.
    pub fn start(dir: &Path, prometheus_port: u16, watched: &Watched) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let login = RedisLogin {
            port: watched.redis_port,
            user: Credentials::EXPORTER_USER,
            password_file: &watched.credentials.exporter_password_file,
        };
        let redis_exporter = Exporter::redis(dir, ports::free_port(), &login)?;
        let nginx_exporter = Exporter::nginx(dir, ports::free_port(), watched.nginx_status_port)?;
        let targets = Targets(vec![
            ("web".into(), watched.replica_metrics_ports.clone()),
            ("redis".into(), vec![redis_exporter.port]),
            ("nginx".into(), vec![nginx_exporter.port]),
            ("prometheus".into(), vec![prometheus_port]),
        ]);
        let prometheus = Prometheus::start(&dir.join("prometheus"), prometheus_port, &targets)?;
        Ok(Self { prometheus, redis_exporter, nginx_exporter })
    }

    pub fn detach(&mut self) {
        self.prometheus.detach();
        self.redis_exporter.detach();
        self.nginx_exporter.detach();
    }
}
