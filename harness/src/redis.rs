//! A real `redis-server` on loopback, started from the shipped `redis/redis.conf` (AOF, fsync before every reply,
//! `noeviction`) with its data in a directory of its own, so it can be stopped (gracefully or with SIGKILL) and
//! started again on the same data and port.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use nix::sys::signal::Signal;

use crate::{ports, process::Process};

/// The Redis configuration compose mounts and Kubernetes generates a ConfigMap from.
pub fn config_file() -> PathBuf {
    crate::paths::workspace_root().join("redis").join("redis.conf")
}

/// How long a fresh or restarted Redis may take to answer PING.
const START_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Redis {
    port: u16,
    dir: PathBuf,
    acl: Option<Acl>,
    process: Option<Process>,
}

/// Redis started with `--aclfile`: the file, and the full-access user that [`Redis::cli`] authenticates as.
#[derive(Debug, Clone)]
pub struct Acl {
    pub file: PathBuf,
    pub user: String,
    pub password: String,
}

impl Redis {
    /// Start a Redis keeping its data and log in `dir` (created if missing), on a free port.
    pub fn start(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut redis = Self::stopped(dir)?;
        redis.restart()?;
        Ok(redis)
    }

    /// A Redis that is not running yet: it gets a port now and starts on [`Redis::restart`].
    pub fn stopped(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self { port: ports::free_port(), dir: dir.to_owned(), acl: None, process: None })
    }

    /// Start with the users of `acl.file` (the `default` user may be off): `cli` then logs in as `acl.user`.
    pub fn with_acl(mut self, acl: Acl) -> Self {
        self.acl = Some(acl);
        self
    }

    /// A handle on a Redis started elsewhere (by `stack up`), for [`Redis::cli`] only.
    pub fn attach(port: u16, dir: &Path, acl: Option<Acl>) -> Self {
        Self { port, dir: dir.to_owned(), acl, process: None }
    }

    /// Leave the server running when this handle is dropped.
    pub fn detach(&mut self) {
        if let Some(p) = self.process.as_mut() {
            p.detach();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// Start (again) on the same port and data directory, and wait until it answers PING.
    pub fn restart(&mut self) -> Result<(), String> {
        if self.process.is_some() {
            return Err("redis is already running".into());
        }
        let mut command = Command::new("redis-server");
        // The shipped file, as compose mounts it (AOF with `appendfsync always`, `maxmemory` + `noeviction`, the ACL
        // file). Only what must differ on a shared host is overridden, each for one reason:
        // - `--port`: a free loopback port per instance, since tests run several twins at once (compose: 6379);
        // - `--bind 127.0.0.1`: loopback only on the host, where compose binds every interface of a private network;
        // - `--dir`: this instance's data directory (compose: the `redis-data` volume);
        // - `--aclfile`: this twin's generated ACL (compose: the `init` volume), or none for the single-replica
        //   tests, which then talk to the `default` user (still loopback only, `protected-mode` stays on).
        // `daemonize no` and `logfile ""` (stdout, into this process's log file) are the file's own settings.
        command
            .arg(config_file())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&self.dir);
        match &self.acl {
            Some(acl) => command.arg("--aclfile").arg(&acl.file),
            None => command.args(["--aclfile", ""]),
        };
        let mut process =
            Process::spawn("redis-server", command, &self.dir.join("redis.log")).map_err(|e| e.to_string())?;
        let mut last = String::from("no answer yet");
        let port = self.port;
        let ready = process.wait_ready("redis to answer PING", START_DEADLINE, || {
            match self.cli(&["PING"]) {
                Ok(reply) if reply == "PONG" => return true,
                Ok(reply) => last = reply,
                Err(e) => last = e,
            }
            false
        });
        if let Err(e) = ready {
            return Err(format!("{e}\nlast answer on port {port}: {last}"));
        }
        self.process = Some(process);
        // The answer must come from the process just started, not from whatever else may hold the port.
        let info = self.cli(&["INFO", "server"])?;
        let pid = self.pid().unwrap_or_default();
        if !info.lines().any(|l| l.trim() == format!("process_id:{pid}")) {
            let _ = self.stop(Signal::SIGKILL);
            return Err(format!("port {} answers, but not from redis-server pid {pid}", self.port));
        }
        Ok(())
    }

    /// Stop with `signal` (SIGTERM: graceful, AOF flushed; SIGKILL: crash) and wait for the exit.
    pub fn stop(&mut self, signal: Signal) -> Result<(), String> {
        let mut process = self.process.take().ok_or("redis is not running")?;
        process.stop(signal, Duration::from_secs(10)).map(drop)
    }

    /// Run one command through `redis-cli` and return its raw reply.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(acl) = &self.acl {
            // The password goes through the environment, not the command line that `ps` shows.
            command.args(["--no-auth-warning", "--user", &acl.user]).env("REDISCLI_AUTH", &acl.password);
        }
        let out = command.args(args).output().map_err(|e| format!("cannot run redis-cli: {e}"))?;
        let reply = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let refused = ["ERR", "LOADING", "NOAUTH", "NOPERM", "WRONGPASS"].iter().any(|p| reply.starts_with(p));
        if !out.status.success() || refused {
            return Err(format!("redis-cli {args:?}: {reply}{}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(reply)
    }

    /// The integer stored at `key` (0 when missing).
    pub fn get_i64(&self, key: &str) -> Result<i64, String> {
        let reply = self.cli(&["GET", key])?;
        if reply.is_empty() { Ok(0) } else { reply.parse().map_err(|e| format!("GET {key} = {reply:?}: {e}")) }
    }
}
