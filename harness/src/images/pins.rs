//! The image pins of `.env`, and the versions read off them: what `cargo xtask images` builds is decided here.

use std::{collections::BTreeMap, path::Path};

/// `KEY=VALUE` lines of an env file (comments and blank lines skipped), as compose reads `.env`.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect())
}

/// The image `key` names in `pins`, or an error naming the missing variable.
pub fn image<'a>(pins: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str, String> {
    pins.get(key).map(String::as_str).ok_or_else(|| format!(".env has no {key}"))
}

/// The version in an image reference's tag: `prom/prometheus:v3.5.3` → `3.5.3`,
/// `oliver006/redis_exporter:v1.86.0-alpine` → `1.86.0`, `rust:1.95-slim-trixie` → `1.95`.
pub fn version(image: &str) -> Result<String, String> {
    let tag = image.rsplit_once(':').map(|(_, tag)| tag).filter(|t| !t.contains('/'));
    let tag = tag.ok_or_else(|| format!("{image} has no tag"))?;
    let version = tag.trim_start_matches('v').split('-').next().unwrap_or_default();
    let numeric =
        !version.is_empty() && version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if numeric { Ok(version.to_owned()) } else { Err(format!("{image}: the tag does not start with a version")) }
}

/// `1.30.6` → `1.30`: what a stand-in must match (Debian's package of the same major.minor).
pub fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The Debian suite an image reference names: `debian:trixie-slim` → `trixie`.
pub fn suite(image: &str) -> Result<String, String> {
    let tag = image.rsplit_once(':').map(|(_, tag)| tag).ok_or_else(|| format!("{image} has no tag"))?;
    Ok(tag.split('-').next().unwrap_or(tag).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_tag() {
        assert_eq!(version("prom/prometheus:v3.5.3").unwrap(), "3.5.3");
        assert_eq!(version("oliver006/redis_exporter:v1.86.0-alpine").unwrap(), "1.86.0");
        assert_eq!(version("rust:1.95-slim-trixie").unwrap(), "1.95");
        assert_eq!(version("busybox:1.38.0-musl").unwrap(), "1.38.0");
        assert_eq!(version("localhost:5000/nginx:1.30.6").unwrap(), "1.30.6");
        assert!(version("nginx").is_err());
        assert!(version("localhost:5000/nginx").is_err());
        assert!(version("debian:trixie-slim").is_err());
        assert_eq!(major_minor("1.30.6"), "1.30");
        assert_eq!(suite("debian:trixie-slim").unwrap(), "trixie");
    }
}
