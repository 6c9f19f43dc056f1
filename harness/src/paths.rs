//! Where things are: the workspace (for the shipped config files) and cargo's target directory (for state, logs and
//! data of the commands here), so every command and test agrees on both.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The workspace root: the directory holding `nginx/`, `deploy/` and `Cargo.lock`.
///
/// Looked up at run time from the `CARGO_MANIFEST_DIR` cargo sets for `cargo run` and `cargo test`, falling back to
/// the one this crate was compiled in: checkouts that share a target directory (CI's cache) may reuse a build made
/// in another checkout, whose compile-time path would point at that checkout's files.
pub fn workspace_root() -> PathBuf {
    let compiled = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let start = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| compiled.clone(), PathBuf::from);
    let is_root = |dir: &Path| dir.join("nginx").join("templates").is_dir() && dir.join("Cargo.lock").is_file();
    start
        .ancestors()
        .chain(compiled.ancestors())
        .find(|dir| is_root(dir))
        .map_or_else(|| compiled.parent().map(PathBuf::from).unwrap_or_default(), Path::to_path_buf)
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
