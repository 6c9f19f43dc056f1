//! Cache keys and build contexts. An image is rebuilt only when its key changes: the key covers its recipe
//! directory (every file, by path and content), its build arguments, the ids of the images it is built on and the
//! digests of what is copied into its context. The key is stored as a label on the image (see [`super::docker`]).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use sha2::{Digest, Sha256};

/// A key from named parts, in order: `name=value` lines, hashed. Printable, short enough for a label.
pub(super) fn key(parts: &[(&str, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in parts {
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize()[..16])
}

/// The digest of one file's content.
pub(super) fn file_digest(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut file = fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()[..16]))
}

/// The digest of every file under `dir`: relative paths, modes and contents, in sorted order.
pub(super) fn dir_digest(dir: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut parts = Vec::new();
    for relative in &files {
        let path = dir.join(relative);
        let executable = is_executable(&path);
        parts.push((relative.as_str(), format!("{}{}", file_digest(&path)?, if executable { "+x" } else { "" })));
    }
    Ok(key(&parts))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned());
        }
    }
    Ok(())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A build context in a fresh directory under `scratch`: the recipe's files, plus each `(name, source)` copied in
/// under `name` (a directory is hard-linked where it can be, so a toolchain costs no copy). Removed when dropped.
pub(super) fn context(recipe: &Path, extra: &[(&str, PathBuf)], scratch: &Path) -> Result<tempfile::TempDir, String> {
    fs::create_dir_all(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("context-")
        .tempdir_in(scratch)
        .map_err(|e| format!("cannot create a directory in {}: {e}", scratch.display()))?;
    copy(&recipe.join("."), dir.path(), false)?;
    for (name, source) in extra {
        copy(source, &dir.path().join(name), source.is_dir())?;
    }
    Ok(dir)
}

/// `cp -a` (with `-l`, hard links, for directories when possible: same file system).
fn copy(source: &Path, target: &Path, link: bool) -> Result<(), String> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let run = |flags: &str| Command::new("cp").arg(flags).arg(source).arg(target).status().is_ok_and(|s| s.success());
    if (link && run("-al")) || run("-a") {
        Ok(())
    } else {
        Err(format!("cannot copy {} to {} (see: cp -a {0} {1})", source.display(), target.display()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_key_changes_with_any_file_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::write(dir.path().join("sub/entry.sh"), "#!/bin/sh\n").unwrap();
        let first = dir_digest(dir.path()).unwrap();
        assert_eq!(dir_digest(dir.path()).unwrap(), first, "stable");
        fs::write(dir.path().join("sub/entry.sh"), "#!/bin/sh\nexit 0\n").unwrap();
        assert_ne!(dir_digest(dir.path()).unwrap(), first, "content counts");
        let second = dir_digest(dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path().join("sub/entry.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(dir_digest(dir.path()).unwrap(), second, "the executable bit counts");
        assert_ne!(key(&[("a", "b".into())]), key(&[("a", "c".into())]));
    }
}
