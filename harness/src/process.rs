//! A child process owned by a handle: output goes to a log file, signals go by pid, and dropping the handle kills it.

use std::{
    fs::File,
    io,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use nix::{sys::signal::Signal, unistd::Pid};

#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
    /// Left running on drop: `cargo xtask stack up` hands its processes over to pid files.
    detached: bool,
}

impl Process {
    /// Start `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> io::Result<Self> {
        let out = File::options().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let child =
            command.stdin(Stdio::null()).stdout(out).stderr(err).spawn().map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {name} ({:?}): {e}", command.get_program()))
            })?;
        Ok(Self { name: name.to_owned(), child, log: log.to_owned(), status: None, detached: false })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Keep the process running after this handle is dropped (it is then stopped by pid, by `stack down`).
    pub fn detach(&mut self) {
        self.detached = true;
    }

    pub fn is_detached(&self) -> bool {
        self.detached
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log written so far (for assertions and for failure reports).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), signal)
    }

    /// The exit status, if the process has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Wait up to `deadline` until `ready()` holds, failing early (with the log) if the process exits instead: the
    /// start-up wait every server this crate runs goes through.
    pub fn wait_ready(
        &mut self,
        what: &str,
        deadline: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        crate::wait::until(what, deadline, || ready() || self.try_status().is_some())
            .map_err(|e| format!("{e}\n{}", self.log()))?;
        match self.try_status() {
            Some(status) => Err(format!("{} exited at start ({status}):\n{}", self.name, self.log())),
            None => Ok(()),
        }
    }

    /// Wait up to `deadline` for the process to exit.
    pub fn wait_exit(&mut self, deadline: Duration) -> Result<ExitStatus, String> {
        let name = self.name.clone();
        crate::wait::until(&format!("{name} to exit"), deadline, || self.try_status().is_some())?;
        Ok(self.status.expect("status observed by the wait above"))
    }

    /// Send `signal` and wait up to `deadline` for the exit.
    pub fn stop(&mut self, signal: Signal, deadline: Duration) -> Result<ExitStatus, String> {
        if let Some(status) = self.try_status() {
            return Ok(status);
        }
        self.signal(signal).map_err(|e| format!("cannot signal {}: {e}", self.name))?;
        self.wait_exit(deadline)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.detached && self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- last lines of {} ({}) ---", self.name, self.log.display());
            tail.iter().rev().for_each(|l| eprintln!("{l}"));
        }
    }
}
