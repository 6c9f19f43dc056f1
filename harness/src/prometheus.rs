//! The real Prometheus (Debian's binary) on the SHIPPED `observability/prometheus/prometheus.yml` and rules, with one
//! documented override for the native twin, done on the parsed YAML so nothing else can drift:
//! - the jobs in [`OVERRIDDEN`] keep every setting but get their targets from a loopback `static_configs` (in place of
//!   compose's DNS discovery or service names);
//! - the jobs in [`DROPPED`] (the Collector's; no Collector runs natively) are removed.
//!
//! The rule files are copied unchanged next to the rendered config, so `rule_files: [rules/*.yml]` finds them.
//! [`render`] is what `cargo xtask stack up` and the tests run; tests/twin/prometheus_twin.rs proves that the rendered
//! config equals the shipped one once target lists are set aside.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use nix::sys::signal::Signal;
use serde_yaml::Value;

use crate::{http, paths::workspace_root, process::Process};

/// Jobs whose targets the twin replaces with loopback ports.
pub const OVERRIDDEN: [&str; 4] = ["web", "redis", "nginx", "prometheus"];
/// Jobs the twin removes: only a Collector can serve them.
pub const DROPPED: [&str; 2] = ["otel-collector", "spanmetrics"];
/// The keys of a scrape config that say where its targets come from (all the override touches).
pub const DISCOVERY_KEYS: [&str; 2] = ["dns_sd_configs", "static_configs"];

/// Loopback targets of the overridden jobs, by job name.
#[derive(Debug)]
pub struct Targets(pub Vec<(String, Vec<u16>)>);

/// The shipped configuration directory (`observability/prometheus/`).
pub fn shipped_dir() -> PathBuf {
    workspace_root().join("observability").join("prometheus")
}

/// The shipped `prometheus.yml`, parsed.
pub fn shipped() -> Result<Value, String> {
    let path = shipped_dir().join("prometheus.yml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The shipped config with the twin's override applied (see the module doc).
pub fn overridden(targets: &Targets) -> Result<Value, String> {
    let mut config = shipped()?;
    let jobs = config["scrape_configs"].as_sequence_mut().ok_or("prometheus.yml: no scrape_configs")?;
    jobs.retain(|job| !DROPPED.contains(&job["job_name"].as_str().unwrap_or_default()));
    for job in jobs.iter_mut() {
        let name = job["job_name"].as_str().unwrap_or_default().to_owned();
        let Some((_, ports)) = targets.0.iter().find(|(n, _)| *n == name) else {
            return Err(format!("prometheus.yml: job {name} has no twin targets"));
        };
        let map = job.as_mapping_mut().ok_or("a scrape config is not a mapping")?;
        DISCOVERY_KEYS.iter().for_each(|k| drop(map.remove(*k)));
        let list: Vec<Value> = ports.iter().map(|p| Value::from(format!("127.0.0.1:{p}"))).collect();
        let mut group = serde_yaml::Mapping::new();
        group.insert("targets".into(), Value::Sequence(list));
        map.insert("static_configs".into(), Value::Sequence(vec![Value::Mapping(group)]));
    }
    Ok(config)
}

/// Write the overridden config and a copy of the rules into `dir`; return the config's path.
pub fn render(dir: &Path, targets: &Targets) -> Result<PathBuf, String> {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).map_err(|e| format!("cannot create {}: {e}", rules.display()))?;
    let shipped_rules = std::fs::read_dir(shipped_dir().join("rules")).map_err(|e| format!("rules: {e}"))?;
    for entry in shipped_rules.filter_map(Result::ok) {
        std::fs::copy(entry.path(), rules.join(entry.file_name())).map_err(|e| format!("copy rules: {e}"))?;
    }
    let config = dir.join("prometheus.yml");
    let text = serde_yaml::to_string(&overridden(targets)?).map_err(|e| e.to_string())?;
    let header =
        "# Rendered by harness::prometheus from observability/prometheus/prometheus.yml (twin override only).\n";
    std::fs::write(&config, format!("{header}{text}")).map_err(|e| format!("{}: {e}", config.display()))?;
    Ok(config)
}

#[derive(Debug)]
pub struct Prometheus {
    pub port: u16,
    process: Process,
}

impl Prometheus {
    /// Render into `dir`, start on `port` with its data in `dir/data` and exemplar storage on (as compose does);
    /// return once `/-/ready` answers 200.
    pub fn start(dir: &Path, port: u16, targets: &Targets) -> Result<Self, String> {
        let config = render(dir, targets)?;
        let mut command = Command::new("prometheus");
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--enable-feature=exemplar-storage");
        let mut process =
            Process::spawn("prometheus", command, &dir.join("prometheus.log")).map_err(|e| e.to_string())?;
        process.wait_ready("prometheus to be ready", Duration::from_secs(30), || {
            http::get(port, "/-/ready").is_ok_and(|(s, _)| s == 200)
        })?;
        Ok(Self { port, process })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn detach(&mut self) {
        self.process.detach();
    }
}

impl Drop for Prometheus {
    /// SIGTERM: Prometheus closes its TSDB cleanly.
    fn drop(&mut self) {
        if !self.process.is_detached() {
            let _ = self.process.stop(Signal::SIGTERM, Duration::from_secs(10));
        }
    }
}
