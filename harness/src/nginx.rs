//! NGINX in front of the replicas, from the very files compose mounts: `nginx/nginx.conf` as is, and
//! `nginx/templates/*.template` rendered by `envsubst` with the `NGINX_*` variables only, as the official image's
//! entrypoint does with `NGINX_ENVSUBST_FILTER=^NGINX_`. Only the variables' values differ from compose (loopback
//! ports, the replicas listed one by one instead of `server web:8080 resolve`).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use nix::sys::signal::Signal;

use crate::{paths::workspace_root, process::Process, wait};

/// How to start NGINX.
#[derive(Debug, Clone)]
pub struct NginxSpec {
    /// Prefix: rendered config, pid, temp directories, log.
    pub dir: PathBuf,
    pub port: u16,
    pub tls_port: u16,
    pub status_port: u16,
    /// Directory holding `tls.crt` and `tls.key`.
    pub tls_dir: PathBuf,
    /// Ports of the replicas on 127.0.0.1.
    pub upstreams: Vec<u16>,
    /// Those of `upstreams` marked `down`: listed, but sent nothing (a replica being drained).
    pub down: Vec<u16>,
}

#[derive(Debug)]
pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    pub status_port: u16,
    /// The JSON access log file (the lines the Collector's filelog receiver reads in compose).
    pub access_log: PathBuf,
    spec: NginxSpec,
    process: Process,
}

impl NginxSpec {
    /// The access log file (JSON lines, as on stdout) that compose's Collector reads.
    pub fn access_log(&self) -> PathBuf {
        self.dir.join("access.log")
    }

    /// The template variables, as compose sets them for the container but pointing at loopback.
    pub fn variables(&self) -> Vec<(String, String)> {
        let server = |p: &u16| {
            let down = if self.down.contains(p) { " down" } else { "" };
            format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=5s{down}; ")
        };
        let servers: String = self.upstreams.iter().map(server).collect();
        [
            ("NGINX_LISTEN", format!("127.0.0.1:{}", self.port)),
            ("NGINX_TLS_LISTEN", format!("127.0.0.1:{}", self.tls_port)),
            ("NGINX_STATUS_LISTEN", format!("127.0.0.1:{}", self.status_port)),
            ("NGINX_TLS_DIR", self.tls_dir.display().to_string()),
            ("NGINX_ACCESS_LOG_FILE", self.access_log().display().to_string()),
            // The twin keeps NGINX's stdout (its log file) as the tests and `cargo xtask stack` read it.
            ("NGINX_ACCESS_LOG_STDOUT", "1".to_owned()),
            // Never queried natively: no upstream name is resolved at run time.
            ("NGINX_RESOLVER", "127.0.0.1 valid=5s ipv6=off".to_owned()),
            ("NGINX_UPSTREAM_SERVERS", servers.trim_end().to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Render `nginx/` into `dir` (nginx.conf + conf.d/) with `variables`, the way the official image does.
pub fn render(dir: &Path, variables: &[(String, String)]) -> Result<PathBuf, String> {
    let source = workspace_root().join("nginx");
    let conf_d = dir.join("conf.d");
    std::fs::create_dir_all(&conf_d).map_err(|e| format!("cannot create {}: {e}", conf_d.display()))?;
    let conf = dir.join("nginx.conf");
    std::fs::copy(source.join("nginx.conf"), &conf).map_err(|e| format!("copy nginx.conf: {e}"))?;
    let templates = std::fs::read_dir(source.join("templates")).map_err(|e| format!("nginx/templates: {e}"))?;
    let shell_format: String = variables.iter().map(|(k, _)| format!("${{{k}}} ")).collect();
    for entry in templates.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(output) = name.strip_suffix(".template") else { continue };
        let input = std::fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?;
        let mut child = Command::new("envsubst")
            .arg(&shell_format)
            .env_clear()
            .envs(variables.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("envsubst (apt-get install gettext-base): {e}"))?;
        child.stdin.take().ok_or("envsubst stdin")?.write_all(&input).map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        std::fs::write(conf_d.join(output), out.stdout).map_err(|e| format!("{output}: {e}"))?;
    }
    Ok(conf)
}

/// The command line compose uses too: `-p` for pid and temp paths, `-c` for the config, errors to stderr.
fn command(prefix: &Path, conf: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new("nginx");
    command.arg("-p").arg(format!("{}/", prefix.display())).arg("-c").arg(conf).args(["-e", "stderr"]).args(extra);
    command
}

/// `nginx -t` on the config rendered into `dir`.
pub fn check(dir: &Path, conf: &Path) -> Result<(), String> {
    let out = command(dir, conf, &["-t", "-q"]).output().map_err(|e| format!("nginx (apt-get install nginx): {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("nginx -t: {}", String::from_utf8_lossy(&out.stderr))) }
}

impl Nginx {
    /// Render, check and start NGINX; wait until the public port accepts connections.
    pub fn start(spec: &NginxSpec) -> Result<Self, String> {
        let conf = render(&spec.dir, &spec.variables())?;
        check(&spec.dir, &conf)?;
        let command = command(&spec.dir, &conf, &["-g", "daemon off;"]);
        let mut process = Process::spawn("nginx", command, &spec.dir.join("nginx.log")).map_err(|e| e.to_string())?;
        // NGINX writes its pid file only once every listening socket is bound. Listening alone is not enough: when
        // another program holds the port, that program answers while NGINX retries bind() and exits.
        let (pid_file, pid) = (spec.dir.join("nginx.pid"), process.pid().to_string());
        let bound = || std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() == pid);
        process.wait_ready("nginx to bind its ports", Duration::from_secs(10), bound)?;
        let port = spec.port;
        process.wait_ready("nginx to listen", Duration::from_secs(10), || wait::listening(port))?;
        let (tls_port, status_port, access_log) = (spec.tls_port, spec.status_port, spec.access_log());
        Ok(Self { port, tls_port, status_port, access_log, spec: spec.clone(), process })
    }

    /// Mark the replicas on `ports` `down` (and only those), reload, and return once every worker of the previous
    /// configuration has exited: from then on no connection from NGINX to a replica marked down exists or will be
    /// opened, so it can be stopped without failing a request. This is the orchestrator's half of a rolling restart
    /// (what Kubernetes does by removing a terminating pod from the Service's endpoints).
    pub fn set_down(&mut self, ports: &[u16]) -> Result<(), String> {
        self.spec.down = ports.to_vec();
        let conf = render(&self.spec.dir, &self.spec.variables())?;
        check(&self.spec.dir, &conf)?;
        let old = children(self.pid());
        self.process.signal(Signal::SIGHUP).map_err(|e| format!("cannot signal nginx: {e}"))?;
        // Old workers finish their requests in flight, then exit; new ones start on the new configuration.
        let pid = self.pid();
        wait::until("nginx's old workers to exit after a reload", Duration::from_secs(15), || {
            let now = children(pid);
            !now.is_empty() && now.iter().all(|p| !old.contains(p))
        })
        .map(drop)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Error lines and JSON access-log lines, in order.
    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn detach(&mut self) {
        self.process.detach();
    }
}

/// The processes whose parent is `pid` (NGINX's workers), from `/proc`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(processes) = procfs::process::all_processes() else { return Vec::new() };
    // A process that exits between the listing and the read of its stat is no child any more.
    let stats = processes.filter_map(|p| p.ok()?.stat().ok());
    stats.filter(|s| s.ppid == pid as i32).map(|s| s.pid as u32).collect()
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its workers; a SIGKILL (the `Process` fallback) would orphan them.
    fn drop(&mut self) {
        if !self.process.is_detached() {
            let _ = self.process.stop(Signal::SIGTERM, Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn children_are_the_processes_this_one_started() {
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let children = super::children(std::process::id());
        let _ = child.kill().and_then(|()| child.wait());
        assert!(children.contains(&child.id()), "{} not in {children:?}", child.id());
        assert!(!children.contains(&std::process::id()));
    }
}
