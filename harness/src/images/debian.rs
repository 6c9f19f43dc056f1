//! Debian root filesystems made with `debootstrap --variant=minbase` and imported as images: the bases everything
//! else here is built on, since no image can be pulled.

use std::{fs, path::Path, process::Command};

use super::{docker, recipe};

/// Where Debian's packages come from (the same registry apt on this machine uses).
fn mirror() -> String {
    std::env::var("DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into())
}

/// Written into every base: the registry serves a dated snapshot of Debian, whose Release files of the newer suites
/// are past their Valid-Until date, and apt would refuse them.
const APT_CONF: &str = "Acquire::Check-Valid-Until \"false\";\n";

/// Bumped when what this module does to a root filesystem changes, so cached bases are made again.
const RECIPE: &str = "minbase-1";

/// The image `tag` holding a minbase root filesystem of `suite` with the packages `include`, made unless one with the
/// same key exists. Returns whether it was built (false: cached).
pub(super) fn base(suite: &str, include: &[&str], tag: &str, state: &Path) -> Result<bool, String> {
    let mirror = mirror();
    let key = recipe::key(&[
        ("recipe", RECIPE.into()),
        ("suite", suite.into()),
        ("include", include.join(",")),
        ("mirror", mirror.clone()),
        ("apt.conf", APT_CONF.into()),
    ]);
    if docker::recipe_of(tag).as_deref() == Some(key.as_str()) {
        return Ok(false);
    }
    if Command::new("sh").args(["-c", "command -v debootstrap"]).output().map_or(true, |o| !o.status.success()) {
        return Err("debootstrap is not installed (apt-get install debootstrap, or bash scripts/engine.sh)".into());
    }
    println!("images: {tag}: debootstrap {suite} (about a minute)");
    let rootfs = state.join(format!("rootfs-{suite}"));
    let log = state.join(format!("debootstrap-{suite}.log"));
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs).map_err(|e| format!("cannot remove {}: {e}", rootfs.display()))?;
    }
    // Debian 12's debootstrap has no script for suites newer than trixie; sid's fits testing (merged /usr).
    let script = Path::new("/usr/share/debootstrap/scripts").join(suite);
    let mut command = Command::new("debootstrap");
    command.arg("--variant=minbase");
    if !include.is_empty() {
        command.arg(format!("--include={}", include.join(",")));
    }
    command.arg(suite).arg(&rootfs).arg(&mirror);
    if !script.exists() {
        command.arg("/usr/share/debootstrap/scripts/sid");
    }
    docker::run_logged(command, &log, &format!("debootstrap {suite}"))?;
    let conf = rootfs.join("etc/apt/apt.conf.d/99snapshot");
    fs::write(&conf, APT_CONF).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    // Packages unpacked at bootstrap leave their downloads behind; an image has no use for them.
    let archives = rootfs.join("var/cache/apt/archives");
    for entry in fs::read_dir(&archives).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "deb") {
            let _ = fs::remove_file(entry.path());
        }
    }
    let imported = docker::import(tag, &rootfs, &key, &state.join(format!("import-{suite}.log")));
    let _ = fs::remove_dir_all(&rootfs);
    imported.map(|()| true)
}
