//! A `visit-counter` replica as a child process on loopback ports of its own.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
    time::Duration,
};

use nix::sys::signal::Signal;

use crate::{ports, process::Process, wait};

#[derive(Debug)]
pub struct App {
    pub port: u16,
    pub metrics_port: u16,
    process: Process,
    /// Kept so [`App::restart`] starts the same replica again on the same ports.
    spec: AppSpec,
}

/// How to start a replica.
#[derive(Debug, Clone)]
pub struct AppSpec {
    pub binary: PathBuf,
    pub redis_port: u16,
    /// Extra environment (overrides the defaults set here).
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

impl App {
    /// Start a replica on free ports (loopback only, JSON logs to `spec.log`) without waiting for it.
    pub fn spawn(spec: &AppSpec) -> Result<Self, String> {
        Self::spawn_on(spec, ports::free_port(), ports::free_port())
    }

    fn spawn_on(spec: &AppSpec, port: u16, metrics_port: u16) -> Result<Self, String> {
        let mut command = Command::new(&spec.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", spec.redis_port.to_string())
            .env("PORT", port.to_string())
            .env("METRICS_PORT", metrics_port.to_string())
            .env("RUST_LOG", "info")
            .envs(spec.env.iter().map(|(k, v)| (k, v)));
        let process =
            Process::spawn(&format!("visit-counter:{port}"), command, &spec.log).map_err(|e| e.to_string())?;
        Ok(Self { port, metrics_port, process, spec: spec.clone() })
    }

    /// Stop with `signal` (if still running) and start the same replica again on the same ports, as a container
    /// restart does; returns once it listens. NGINX knows replicas by port, so it sends to the new process.
    pub fn restart(&mut self, signal: Signal, deadline: Duration) -> Result<(), String> {
        self.process.stop(signal, deadline)?;
        let port = self.port;
        wait::until("the old replica's port to be free", deadline, || !wait::listening(port))?;
        *self = Self::spawn_on(&self.spec, self.port, self.metrics_port)?;
        wait::until("the restarted replica to listen", deadline, || wait::listening(port))?;
        Ok(())
    }

    /// Start a replica and wait until `/healthz` answers 200.
    pub fn start(spec: &AppSpec) -> Result<Self, String> {
        let mut app = Self::spawn(spec)?;
        let port = app.port;
        app.process.wait_ready("the app to answer /healthz", Duration::from_secs(10), || {
            crate::http::get(port, "/healthz").is_ok_and(|(status, _)| status == 200)
        })?;
        Ok(app)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    pub fn signal(&self, signal: Signal) -> Result<(), String> {
        self.process.signal(signal).map_err(|e| e.to_string())
    }

    /// Leave the replica running when this handle is dropped.
    pub fn detach(&mut self) {
        self.process.detach();
    }

    pub fn wait_exit(&mut self, deadline: Duration) -> Result<ExitStatus, String> {
        self.process.wait_exit(deadline)
    }
}
