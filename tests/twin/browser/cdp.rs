//! Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands in on fd 3,
//! answers and events out on fd 4, one JSON message per NUL-terminated frame). A pipe, not a debugging port: no
//! socket for anything else on the machine to reach, and no websocket client needed.
//!
//! Chromium is kept on loopback: every host name resolves to nothing but `127.0.0.1` (`--host-resolver-rules`), no
//! proxy, no background networking, a fresh profile in a temp dir. The browser process is closed on drop.

use std::{
    io::{BufRead, BufReader, Write},
    os::fd::{AsRawFd, RawFd},
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    sync::mpsc::{Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tempfile::TempDir;

/// Headless, driven over the pipe, a fresh profile that does nothing on its own, and no way off the machine.
const FLAGS: [&str; 14] = [
    "--headless",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-proxy-server",
    // Chromium asks Google hosts even with background networking off: every name but the loopback address resolves
    // to nothing, so no request can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-gpu",
];

/// How long one command (a page load included) may take.
const DEADLINE: Duration = Duration::from_secs(30);

pub struct Browser {
    child: Child,
    commands: std::io::PipeWriter,
    messages: Receiver<Value>,
    next_id: u64,
    /// Every event seen so far, in order (requests, console messages, exceptions, log entries).
    pub events: Vec<Value>,
    /// The profile and Chromium's own log; removed after the process is killed.
    dir: TempDir,
}

impl Browser {
    /// Start headless Chromium, or fail saying how to install it (scripts/test.sh does).
    pub fn launch() -> Result<Self, String> {
        harness::paths::require("chromium", "apt-get install chromium; scripts/test.sh installs it")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (from_us, to_chromium) = std::io::pipe().map_err(|e| e.to_string())?;
        let (from_chromium, to_us) = std::io::pipe().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("chromium.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new("chromium");
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // Chromium's sandbox needs user namespaces it cannot have as root; as any other user it stays on.
        if running_as_root() {
            command.arg("--no-sandbox");
        }
        let (read_fd, write_fd) = (from_us.as_raw_fd(), to_us.as_raw_fd());
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2) on fds this process owns.
        unsafe { command.pre_exec(move || onto_fds_3_and_4(read_fd, write_fd)) };
        let child = command.spawn().map_err(|e| format!("cannot start chromium: {e}"))?;
        drop((from_us, to_us));
        let (sender, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_chromium);
            let mut frame = Vec::new();
            while reader.read_until(0, &mut frame).is_ok_and(|n| n > 0) {
                frame.pop_if(|b| *b == 0);
                if let Ok(message) = serde_json::from_slice(&frame)
                    && sender.send(message).is_err()
                {
                    break;
                }
                frame.clear();
            }
        });
        Ok(Self { child, commands: to_chromium, messages, next_id: 0, events: Vec::new(), dir })
    }

    /// Chromium's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromium.log")).unwrap_or_default()
    }

    /// Send `method` (to the page `session` if given) and wait for its result; events met on the way are kept.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut frame = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        frame.push(0);
        self.commands.write_all(&frame).map_err(|e| format!("{method}: chromium is gone ({e})\n{}", self.log()))?;
        let answer = self.wait_for(|m| m["id"] == id, method)?;
        match answer.get("error") {
            Some(error) => Err(format!("{method}: {error}")),
            None => Ok(answer["result"].clone()),
        }
    }

    /// The first message matching `wanted` (others are recorded in [`Browser::events`]).
    fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool, what: &str) -> Result<Value, String> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => return Err(format!("{what}: no answer within {DEADLINE:?}")),
                Err(RecvTimeoutError::Disconnected) => return Err(format!("{what}: chromium exited\n{}", self.log())),
            };
            if wanted(&message) {
                return Ok(message);
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }
}

impl Drop for Browser {
    /// `Browser.close` lets Chromium stop its helper processes (renderer, GPU, zygote) itself; SIGKILL only if it
    /// has not exited within 5 s.
    fn drop(&mut self) {
        let _ = self.call(None, "Browser.close", json!({}));
        let exited = harness::wait::until("chromium to exit", Duration::from_secs(5), || {
            self.child.try_wait().is_ok_and(|status| status.is_some())
        });
        if exited.is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `/proc/self` belongs to the effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// In the child: Chromium reads commands on fd 3 and writes to fd 4. Copied out of the way first, in case one of
/// the pipe's fds already is 3 or 4.
fn onto_fds_3_and_4(read_fd: RawFd, write_fd: RawFd) -> std::io::Result<()> {
    use nix::libc::{F_DUPFD_CLOEXEC, dup2, fcntl};
    // SAFETY: plain fd syscalls on fds owned by this (forked) process.
    let ok = unsafe {
        let (read_copy, write_copy) = (fcntl(read_fd, F_DUPFD_CLOEXEC, 10), fcntl(write_fd, F_DUPFD_CLOEXEC, 10));
        read_copy >= 0 && write_copy >= 0 && dup2(read_copy, 3) == 3 && dup2(write_copy, 4) == 4
    };
    if ok { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}
