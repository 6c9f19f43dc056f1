//! A compose project on the local Docker engine, as the acceptance suite starts the shipped stack
//! (tests/compose/project.rs): one compose file, the env files `.env` and `target/images.env` (the local images), a
//! project name of its own so that nothing touches a user's stack. `cargo xtask bench --only compose` runs the
//! shipped stack and its peer (images/flask-peer/) this way. Dropping a project takes it down with its volumes.
//!
//! The shipped stack publishes fixed host ports: whoever starts one holds [`HostPorts`] while it is up, so the
//! acceptance suite and the benchmark wait for each other instead of failing on a taken port.

use std::{
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
    process::Command,
};

use crate::{images, paths};

/// What `docker compose up --wait` may take: the first build compiles the app in a container (minutes on 2 cores).
const UP_TIMEOUT: &str = "1200";

/// The lock file behind [`HostPorts`]. Never wrap a bench or acceptance run in `flock` on it: the run takes the lock
/// itself, through a file of its own, and would wait for its own wrapper.
pub const HOST_PORTS_LOCK: &str = "/tmp/vc-compose.lock";

/// The projects of this repository that publish the fixed host ports: the acceptance suite's and the bench's. A run
/// killed before its teardown leaves its project up; the next holder of the lock takes them down first.
const PORT_HOLDERS: [&str; 3] = ["vc-acceptance", "vc-bench", "vc-bench-peer"];

/// The shipped stack's fixed host ports (5002, 5443 and the UIs' loopback ports), held by one compose stack of this
/// repository at a time: an exclusive `flock` on [`HOST_PORTS_LOCK`], released when dropped or when the process
/// exits, however it exits.
#[derive(Debug)]
pub struct HostPorts {
    /// Held for its lock: closing the file releases it.
    _file: File,
}

impl HostPorts {
    /// Take the lock, waiting (and saying so) while another run holds it; then take down what a killed run left.
    pub fn lock() -> Result<Self, String> {
        let ports = Self::acquire(Path::new(HOST_PORTS_LOCK))?;
        for project in PORT_HOLDERS {
            // By project name alone, away from any compose file (compose finds the containers by their label): the
            // ports are freed whichever file started them; nothing happens when none is up.
            let _ = Command::new("docker")
                .args(["compose", "--project-name", project, "down", "--volumes", "--remove-orphans", "--timeout", "5"])
                .current_dir(std::env::temp_dir())
                .output();
        }
        Ok(ports)
    }

    /// The exclusive `flock` on `path`, waiting for it while another open file holds it.
    fn acquire(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open {shown}: {e}"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                eprintln!("==> waiting for {shown}: another compose stack of this repository is up");
                file.lock().map_err(|e| format!("cannot lock {shown}: {e}"))?;
            }
            Err(TryLockError::Error(e)) => return Err(format!("cannot lock {shown}: {e}")),
        }
        Ok(Self { _file: file })
    }
}

/// One compose project: `docker compose -p NAME -f FILE --env-file .env --env-file target/images.env …`.
#[derive(Debug)]
pub struct Project {
    pub name: String,
    file: PathBuf,
    env_files: Vec<PathBuf>,
}

impl Project {
    /// The project `name` of compose file `file`, with the workspace's `.env` and the local images' env file.
    /// Fails, saying how to make them, when the images were not built.
    pub fn new(name: &str, file: &Path) -> Result<Self, String> {
        let local = images::env_file();
        if !local.is_file() {
            return Err(format!("{} is missing; build the images with: cargo xtask images", local.display()));
        }
        let env_files = vec![paths::workspace_root().join(".env"), local];
        Ok(Self { name: name.to_owned(), file: file.to_path_buf(), env_files })
    }

    /// The services of the compose file (those of its active profiles: none unless COMPOSE_PROFILES says).
    pub fn services(&self) -> Result<Vec<String>, String> {
        Ok(self.compose(&["config", "--services"])?.lines().map(str::to_owned).collect())
    }

    /// Takes down what an earlier run may have left, then `up --detach --build --wait` of `services` (all when empty).
    pub fn up(&self, services: &[String]) -> Result<(), String> {
        self.down()?;
        let mut args = vec!["up", "--detach", "--build", "--wait", "--wait-timeout", UP_TIMEOUT];
        args.extend(services.iter().map(String::as_str));
        self.compose(&args).map(drop)
    }

    /// `down --volumes --remove-orphans`.
    pub fn down(&self) -> Result<(), String> {
        self.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "10"]).map(drop)
    }

    /// `COMMAND` inside `service`'s first container: its stdout, trimmed.
    pub fn exec(&self, service: &str, command: &[&str]) -> Result<String, String> {
        let mut args = vec!["exec", "-T", service];
        args.extend_from_slice(command);
        self.compose(&args)
    }

    /// `docker compose ARGS` on this project: stdout (trimmed), or one line naming the command and its last error
    /// line, with the command that shows the containers' side.
    pub fn compose(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("docker");
        command.args(["compose", "--project-name", &self.name]).arg("--file").arg(&self.file);
        for env in &self.env_files {
            command.arg("--env-file").arg(env);
        }
        let out = command.args(args).output().map_err(|e| format!("cannot run docker compose: {e}"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned();
        Err(format!(
            "docker compose -p {0} {1} failed: {last} (see: docker compose -p {0} ps --all; docker compose -p {0} logs)",
            self.name,
            args.join(" ")
        ))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        match self.down() {
            Ok(()) => eprintln!("compose: {} taken down (volumes removed)", self.name),
            Err(e) => eprintln!("compose: taking {} down failed: {e}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{File, TryLockError};

    use super::HostPorts;

    #[test]
    fn the_host_ports_are_held_by_one_holder_at_a_time_until_it_drops() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ports.lock");
        let held = HostPorts::acquire(&path).expect("first holder");
        // Another open file (as another process has) cannot take it while it is held...
        let other = File::options().write(true).open(&path).expect("lock file");
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)), "a second holder got the ports");
        // ...and takes it once the holder is gone.
        drop(held);
        assert!(other.try_lock().is_ok(), "the ports stayed locked after their holder dropped");
    }
}
