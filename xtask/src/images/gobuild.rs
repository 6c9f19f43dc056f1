//! Placeholder until the Go builds land (helper branch `gobuild`).

use std::path::{Path, PathBuf};

pub fn collector(_recipe: &Path, version: &str, _cache: &Path) -> Result<PathBuf, String> {
    Err(format!("otelcol-contrib {version}: not built yet"))
}

pub fn jaeger(_recipe: &Path, version: &str, _cache: &Path) -> Result<PathBuf, String> {
    Err(format!("jaeger {version}: not built yet"))
}
