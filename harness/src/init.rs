//! First-start setup, done by the very scripts compose's one-shot `init` service runs (`deploy/init/`): Redis ACL
//! credentials and NGINX's self-signed certificate, generated once and kept across restarts.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{paths::workspace_root, redis::Acl};

/// Credentials generated for a stack: what Redis loads and what the app and the tools log in with.
#[derive(Debug)]
pub struct Credentials {
    /// `users.acl` and `admin.password` (Redis side only).
    pub redis_dir: PathBuf,
    /// `web.password`: the app's REDIS_PASSWORD_FILE.
    pub web_password_file: PathBuf,
    /// `exporter.password`: redis_exporter's, for the read-only user [`Credentials::EXPORTER_USER`].
    pub exporter_password_file: PathBuf,
}

impl Credentials {
    /// The app's ACL user, as `deploy/init/credentials.sh` names it.
    pub const WEB_USER: &str = "visit-counter";
    /// redis_exporter's ACL user (server state only, no keys).
    pub const EXPORTER_USER: &str = "redis-exporter";

    /// Run `deploy/init/credentials.sh` (no-op when `dir` already holds credentials).
    pub fn ensure(dir: &Path) -> Result<Self, String> {
        let (redis_dir, web_dir, exporter_dir) = (dir.join("redis"), dir.join("web"), dir.join("exporter"));
        let mut command = script("credentials.sh");
        command.arg(&redis_dir).arg(&web_dir).arg(&exporter_dir).env("REDIS_VERSION", redis_version()?);
        run(command)?;
        Ok(Self {
            web_password_file: web_dir.join("web.password"),
            exporter_password_file: exporter_dir.join("exporter.password"),
            redis_dir,
        })
    }

    /// The full-access user for tools (`redis-cli`), never given to the app.
    pub fn admin(&self) -> Result<Acl, String> {
        Self::admin_of_redis_dir(&self.redis_dir)
    }

    /// The admin user of credentials generated earlier into `dir` (by [`Credentials::ensure`]).
    pub fn admin_of(dir: &Path) -> Result<Acl, String> {
        Self::admin_of_redis_dir(&dir.join("redis"))
    }

    fn admin_of_redis_dir(redis_dir: &Path) -> Result<Acl, String> {
        let path = redis_dir.join("admin.password");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let password = text.lines().next().unwrap_or_default().to_owned();
        Ok(Acl { file: redis_dir.join("users.acl"), user: "admin".into(), password })
    }
}

/// Run `deploy/init/tls.sh` (no-op when `dir` already holds `tls.crt` and `tls.key`).
pub fn ensure_tls(dir: &Path) -> Result<(), String> {
    let mut command = script("tls.sh");
    command.arg(dir);
    run(command)
}

/// The installed `redis-server`'s version (`7.0.15`), which decides the ACL grants that exist.
pub fn redis_version() -> Result<String, String> {
    let out = Command::new("redis-server").arg("--version").output().map_err(|e| format!("redis-server: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .map(str::to_owned)
        .ok_or_else(|| format!("cannot read the version in {text:?}"))
}

fn script(name: &str) -> Command {
    Command::new(workspace_root().join("deploy").join("init").join(name))
}

fn run(mut command: Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{:?}: {e}", command.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed: {}", command.get_program(), String::from_utf8_lossy(&out.stderr)))
    }
}
