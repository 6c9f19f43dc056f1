//! The Docker CLI, as `cargo xtask images` uses it: is an engine there, what is an image's id and recipe label,
//! build one, import a root filesystem. Build output goes to a log file that errors name.

use std::{
    fs::File,
    path::Path,
    process::{Command, Stdio},
};

/// The label that carries an image's cache key (see [`super::recipe`]).
pub(super) const RECIPE_LABEL: &str = "org.visit-counter.recipe";

/// The 20.10 engine's own client where Debian's docker.io put it: BuildKit works with it without buildx, which a
/// newer client elsewhere on PATH may need and not have.
fn docker() -> Command {
    let client = if Path::new("/usr/bin/docker").exists() { "/usr/bin/docker" } else { "docker" };
    let mut command = Command::new(client);
    command.env("DOCKER_BUILDKIT", "1");
    command
}

/// `Ok` when an engine answers `docker info`.
pub(super) fn require_engine() -> Result<(), String> {
    let answered = docker().arg("info").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match answered {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => Err("no Docker engine answers; start one with: bash scripts/engine.sh (see: docker info)".into()),
        Err(e) => Err(format!("cannot run docker ({e}); install it with: bash scripts/engine.sh")),
    }
}

/// The recipe label of image `tag`, `None` when there is no such image.
pub(super) fn recipe_of(tag: &str) -> Option<String> {
    let format = format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}");
    let out = docker().args(["image", "inspect", "--format", &format, tag]).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The id of image `tag` (what a cache key of an image built on it includes).
pub(super) fn id_of(tag: &str) -> Result<String, String> {
    let out = docker()
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!("no image {tag} (see: docker image inspect {tag})"))
    }
}

/// `docker build` of `context` (its Dockerfile) as `tag`, labelled with `key`, output to `log`.
pub(super) fn build(tag: &str, context: &Path, args: &[(String, String)], key: &str, log: &Path) -> Result<(), String> {
    let mut command = docker();
    command.args(["build", "--progress=plain", "--tag", tag, "--label", &format!("{RECIPE_LABEL}={key}")]);
    for (name, value) in args {
        command.args(["--build-arg", &format!("{name}={value}")]);
    }
    command.arg(context);
    run_logged(command, log, &format!("building {tag}"))
}

/// `tar -C rootfs -c . | docker import` as `tag`, labelled with `key`.
pub(super) fn import(tag: &str, rootfs: &Path, key: &str, log: &Path) -> Result<(), String> {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let stdout = tar.stdout.take().ok_or("tar has no stdout")?;
    let mut command = docker();
    command
        .args(["import", "--change", &format!("LABEL {RECIPE_LABEL}={key}"), "--change", "CMD [\"bash\"]", "-", tag])
        .stdin(stdout);
    let imported = run_logged(command, log, &format!("importing {tag}"));
    let tarred = tar.wait().map_err(|e| format!("tar: {e}"))?;
    imported?;
    if tarred.success() { Ok(()) } else { Err(format!("importing {tag}: tar failed; see: {}", log.display())) }
}

/// Runs `command` with stdout and stderr in `log`; the error names `what` and the log.
pub(super) fn run_logged(mut command: Command, log: &Path, what: &str) -> Result<(), String> {
    let file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
    let status = command.stdout(file).stderr(err).status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status}); see: {}", log.display())) }
}
