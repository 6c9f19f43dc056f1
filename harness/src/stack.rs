//! The native twin of docker-compose.yml: Redis (AOF, ACL users with generated passwords), N replicas and NGINX
//! rendered from the shipped templates, all on loopback. [`Stack`] owns its processes and stops them on drop (the
//! tests); `cargo xtask stack up` detaches them into a pid file ([`pids`]) that `stack down` and `stack status` read
//! ([`detached`]). [`monitoring`]: the exporters and Prometheus.
//!
//! State lives under one directory, laid out like compose's volumes:
//! `data/redis/` (redis-data), `credentials/{redis,web,exporter}/` and `tls/` (written by `deploy/init/`), and `run/`
//! (rendered NGINX config, pid file, logs, and with monitoring on the exporters and Prometheus; recreated by every
//! start).

pub mod detached;
pub mod monitoring;
pub mod pids;

use std::{path::PathBuf, time::Duration};

use crate::{
    app::{App, AppSpec},
    http,
    init::{self, Credentials},
    nginx::{Nginx, NginxSpec},
    ports,
    redis::Redis,
    wait,
};
use monitoring::{Monitoring, Watched};

/// How long the whole stack may take to become ready.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// What to start, and where its state lives.
#[derive(Debug)]
pub struct StackSpec {
    pub dir: PathBuf,
    pub binary: PathBuf,
    pub replicas: usize,
    pub port: u16,
    pub tls_port: u16,
    pub status_port: u16,
    /// Extra environment for every replica.
    pub env: Vec<(String, String)>,
    /// Also start the exporters and Prometheus (`stack up` does; most tests need only the request path).
    pub monitoring: bool,
    pub prometheus_port: u16,
}

impl StackSpec {
    /// A stack in `dir` on free loopback ports (tests run several at once).
    pub fn on_free_ports(dir: PathBuf, binary: PathBuf, replicas: usize) -> Self {
        let (port, tls_port, status_port) = (ports::free_port(), ports::free_port(), ports::free_port());
        let prometheus_port = ports::free_port();
        Self { dir, binary, replicas, port, tls_port, status_port, env: Vec::new(), monitoring: false, prometheus_port }
    }
}

/// A running stack. Fields drop in order: the monitoring first, NGINX, then the replicas, then Redis.
#[derive(Debug)]
pub struct Stack {
    pub monitoring: Option<Monitoring>,
    pub nginx: Nginx,
    pub replicas: Vec<App>,
    pub redis: Redis,
    pub dir: PathBuf,
}

impl Stack {
    /// Generate credentials and certificate if missing, start Redis, the replicas, then NGINX; return once every
    /// replica is ready and a request through NGINX reaches one. Each phase prints one `==>` line on stderr
    /// (`stack up` and `chaos` show them; tests capture them).
    pub fn start(spec: &StackSpec) -> Result<Self, String> {
        let run = spec.dir.join("run");
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(&run).map_err(|e| format!("cannot create {}: {e}", run.display()))?;
        eprintln!("==> credentials and certificate (deploy/init/)");
        let credentials = Credentials::ensure(&spec.dir.join("credentials"))?;
        let tls_dir = spec.dir.join("tls");
        init::ensure_tls(&tls_dir)?;

        eprintln!("==> redis-server on redis/redis.conf");
        let mut redis = Redis::stopped(&spec.dir.join("data").join("redis"))?.with_acl(credentials.admin()?);
        redis.restart()?;
        eprintln!("==> {} replicas, waiting for /readyz", spec.replicas);
        let mut replicas = Vec::with_capacity(spec.replicas);
        for i in 1..=spec.replicas {
            replicas.push(App::spawn(&replica(spec, &credentials, redis.port(), run.join(format!("web-{i}.log"))))?);
        }
        for app in &replicas {
            wait::until("a replica to be ready", READY_DEADLINE, || ready(app.port, "/readyz"))
                .map_err(|e| format!("{e}\n{}", app.log()))?;
        }
        eprintln!("==> nginx on 127.0.0.1:{} (https {})", spec.port, spec.tls_port);
        let nginx = Nginx::start(&NginxSpec {
            dir: run.join("nginx"),
            port: spec.port,
            tls_port: spec.tls_port,
            status_port: spec.status_port,
            tls_dir,
            upstreams: replicas.iter().map(|a| a.port).collect(),
            down: Vec::new(),
        })?;
        // /healthz: the public edge does not serve /readyz, and the replicas were found ready on their own ports above.
        wait::until("a replica through nginx", READY_DEADLINE, || ready(nginx.port, "/healthz"))
            .map_err(|e| format!("{e}\n{}", nginx.log()))?;
        let monitoring = if spec.monitoring {
            let watched = Watched {
                credentials: &credentials,
                redis_port: redis.port(),
                nginx_status_port: nginx.status_port,
                replica_metrics_ports: replicas.iter().map(|a| a.metrics_port).collect(),
            };
            eprintln!("==> exporters and prometheus on 127.0.0.1:{}", spec.prometheus_port);
            Some(Monitoring::start(&run.join("monitoring"), spec.prometheus_port, &watched)?)
        } else {
            None
        };
        Ok(Self { monitoring, nginx, replicas, redis, dir: spec.dir.clone() })
    }

    /// The counter as Redis has it (read as the admin user: the app's own user may not GET).
    pub fn counter(&self) -> Result<i64, String> {
        self.redis.get_i64("visits")
    }

    /// Write the pid file and leave every process running (for `stack up`).
    pub fn detach(mut self) -> Result<(), String> {
        pids::write(&self.dir, &self)?;
        self.monitoring.iter_mut().for_each(Monitoring::detach);
        self.nginx.detach();
        self.replicas.iter_mut().for_each(App::detach);
        self.redis.detach();
        Ok(())
    }
}

fn replica(spec: &StackSpec, credentials: &Credentials, redis_port: u16, log: PathBuf) -> AppSpec {
    let mut env = vec![
        ("REDIS_USERNAME".to_owned(), Credentials::WEB_USER.to_owned()),
        ("REDIS_PASSWORD_FILE".to_owned(), credentials.web_password_file.display().to_string()),
        // Several replicas share two cores here, as in compose (FACTS: one worker each is faster).
        ("TOKIO_WORKER_THREADS".to_owned(), "1".to_owned()),
        // As compose: every request traced.
        ("OTEL_TRACES_SAMPLER".to_owned(), "parentbased_always_on".to_owned()),
    ];
    env.extend(spec.env.iter().cloned());
    AppSpec { binary: spec.binary.clone(), redis_port, env, log }
}

fn ready(port: u16, path: &str) -> bool {
    http::get(port, path).is_ok_and(|(status, _)| status == 200)
}
