//! Where things are: the workspace (for the shipped config files) and cargo's target directory (for state, logs and
//! data of the commands here), so every command and test agrees on both.

use std::{path::PathBuf, process::Command};

/// The workspace root: the directory holding `nginx/`, `deploy/` and the root `Cargo.toml`.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// `$CARGO_TARGET_DIR` when set, otherwise `<workspace>/target`: where cargo puts the binaries this crate runs.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// `Ok` when `program` is on PATH, otherwise an error telling how to install it.
pub fn require(program: &str, install: &str) -> Result<(), String> {
    let found =
        Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success());
    if found { Ok(()) } else { Err(format!("{program} is not installed ({install})")) }
}
