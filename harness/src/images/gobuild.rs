//! The two Go programs of the stand-in images that no Debian package provides, built from their modules with
//! `CGO_ENABLED=0`: the OpenTelemetry Collector, by the official builder from `images/otel-collector/manifest.yaml`,
//! and Jaeger v2, through our wrapper module `images/jaeger/` (its `tool` directive pins the upstream module, whose
//! own `replace` keeps `go install` from building it).
//!
//! Each binary is cached under `cache`, named by version and a hash of the recipe files it is built from (the
//! manifest; go.mod and go.sum), so a second call with nothing changed returns at once. Each build writes its output
//! to a log beside the binary, which an error names. Go's module and build caches stay where `go env` puts them.
//! Not here: the images (the Dockerfiles beside the recipes, built by the caller from the returned binary).

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_yaml::Value;
use sha2::{Digest, Sha256};

/// The builder's module; it must be at the Collector core version it builds.
const BUILDER: &str = "go.opentelemetry.io/collector/cmd/builder";
/// The binary name (`dist.name` in the manifest), as in the official image.
const COLLECTOR: &str = "otelcol-contrib";
/// The package our wrapper module builds, and the variable its version is stamped into.
const JAEGER: &str = "github.com/jaegertracing/jaeger/cmd/jaeger";
const JAEGER_VERSION_VAR: &str = "github.com/jaegertracing/jaeger/internal/version.latestVersion";

/// Builds (or finds cached) `otelcol-contrib` at `version` (e.g. "0.149.0", the manifest's `dist.version`) and
/// returns its path.
pub(super) fn collector(recipe: &Path, version: &str, cache: &Path) -> Result<PathBuf, String> {
    let manifest_path = recipe.join("manifest.yaml");
    let text = read(&manifest_path)?;
    let mut manifest: Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let pinned = manifest["dist"]["version"].as_str().unwrap_or("no version");
    if pinned != version {
        return Err(format!(
            "{} builds {pinned}, not {version}: move dist.version and every module to that release",
            manifest_path.display()
        ));
    }
    let key = format!("{COLLECTOR}-{version}-{}", digest(&[("manifest.yaml", text.as_bytes())]));
    let binary = cache.join(&key);
    if binary.is_file() {
        return Ok(binary);
    }
    let go = go()?;
    let log = start(cache, &key, &format!("{COLLECTOR} {version}"))?;

    let builder = cache.join(format!("builder-{version}")).join("builder");
    if !builder.is_file() {
        let mut install = go_command(&go);
        install.arg("install").arg(format!("{BUILDER}@v{version}"));
        install.env("GOBIN", builder.parent().unwrap_or(cache));
        run("collector builder install", install, &log)?;
    }

    let work =
        tempfile::Builder::new().prefix(&format!("{key}.")).tempdir_in(cache).map_err(|e| cache_error(cache, e))?;
    let output = work.path().join("build");
    let Some(dist) = manifest.get_mut("dist").and_then(Value::as_mapping_mut) else {
        return Err(format!("{}: no dist section", manifest_path.display()));
    };
    dist.insert("output_path".into(), output.to_string_lossy().into_owned().into());
    let effective = work.path().join("manifest.yaml");
    let yaml = serde_yaml::to_string(&manifest).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    std::fs::write(&effective, yaml).map_err(|e| cache_error(cache, e))?;

    let mut build = go_env(Command::new(&builder), &go);
    build.arg("--config").arg(&effective);
    run("collector build", build, &log)?;
    install(&output.join(COLLECTOR), &binary, &log)
}

/// Builds (or finds cached) `jaeger` for Jaeger `version` (e.g. "2.13.0") and returns its path. The module version
/// is the one go.mod pins; its comment must name this Jaeger release, so the version stamped cannot drift from it.
pub(super) fn jaeger(recipe: &Path, version: &str, cache: &Path) -> Result<PathBuf, String> {
    let go_mod_path = recipe.join("go.mod");
    let go_mod = read(&go_mod_path)?;
    let go_sum = read(&recipe.join("go.sum"))?;
    if !go_mod.contains(&format!("Jaeger {version} ")) {
        return Err(format!("{} does not pin Jaeger {version} (its comment names the release)", go_mod_path.display()));
    }
    let ldflags = jaeger_ldflags(version);
    let inputs = [("go.mod", go_mod.as_bytes()), ("go.sum", go_sum.as_bytes()), ("ldflags", ldflags.as_bytes())];
    let key = format!("jaeger-{version}-{}", digest(&inputs));
    let binary = cache.join(&key);
    if binary.is_file() {
        return Ok(binary);
    }
    let go = go()?;
    let log = start(cache, &key, &format!("jaeger {version}"))?;

    let work =
        tempfile::Builder::new().prefix(&format!("{key}.")).tempdir_in(cache).map_err(|e| cache_error(cache, e))?;
    let output = work.path().join("jaeger");
    let mut build = go_command(&go);
    // -mod=readonly: the recipe is an input, never rewritten by a build.
    build.current_dir(recipe).args(["build", "-mod=readonly", "-trimpath", "-ldflags", &ldflags, "-o"]);
    build.arg(&output).arg(JAEGER);
    run("jaeger build", build, &log)?;
    install(&output, &binary, &log)
}

/// Symbols stripped (as the Collector's builder does by default) and the version stamped where `jaeger version`
/// and the startup log read it; upstream's release build also stamps its commit and date, which a module build
/// does not know.
fn jaeger_ldflags(version: &str) -> String {
    format!("-s -w -X {JAEGER_VERSION_VAR}=v{version}")
}

/// `go` from PATH, else the official tarball's location.
fn go() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    on_path
        .map(|dir| dir.join("go"))
        .chain([PathBuf::from("/usr/local/go/bin/go")])
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "go not found; install Go 1.26 (see docs/images-without-a-registry.md)".to_owned())
}

fn go_command(go: &Path) -> Command {
    go_env(Command::new(go), go)
}

/// The environment of every Go build: no cgo (static binaries for `FROM scratch`), `go` on PATH (the builder runs
/// it), and no VCS stamping (the builder's generated module sits inside our checkout).
fn go_env(mut command: Command, go: &Path) -> Command {
    let dirs = go.parent().map(Path::to_path_buf).into_iter();
    let path = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    if let Ok(path) = std::env::join_paths(dirs.chain(path)) {
        command.env("PATH", path);
    }
    let flags = std::env::var("GOFLAGS").unwrap_or_default();
    command.env("CGO_ENABLED", "0").env("GOFLAGS", format!("{flags} -buildvcs=false").trim_start());
    command
}

/// Announces a build and gives it a fresh log file in the cache.
fn start(cache: &Path, key: &str, what: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(cache).map_err(|e| cache_error(cache, e))?;
    let log = cache.join(format!("{key}.log"));
    File::create(&log).map_err(|e| cache_error(cache, e))?;
    println!("images: building {what} (first build takes minutes)");
    Ok(log)
}

/// Runs `command` with its output appended to `log`, after a line naming it.
fn run(what: &str, mut command: Command, log: &Path) -> Result<(), String> {
    let open = || File::options().append(true).open(log).map_err(|e| format!("{}: {e}", log.display()));
    let out = open()?;
    std::io::Write::write_all(&mut &out, format!("$ {command:?}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let err = open()?;
    let status = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("{what}: cannot run {}: {e}", command.get_program().to_string_lossy()))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(format!("{what} failed (exit {code}); see: {}", log.display())),
        None => Err(format!("{what} failed ({status}); see: {}", log.display())),
    }
}

/// Moves a freshly built binary to its cache name (one rename: a reader never sees half a file).
fn install(built: &Path, binary: &Path, log: &Path) -> Result<PathBuf, String> {
    std::fs::rename(built, binary)
        .map_err(|e| format!("{}: {e} (the build said it succeeded); see: {}", built.display(), log.display()))?;
    Ok(binary.to_path_buf())
}

/// The first 16 hex digits of a SHA-256 over named inputs (each name and length included, so no two different sets
/// of inputs hash alike).
fn digest(inputs: &[(&str, &[u8])]) -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in inputs {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn cache_error(cache: &Path, e: std::io::Error) -> String {
    format!("image build cache {}: {e}", cache.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_stable_and_tells_inputs_apart() {
        let one = digest(&[("go.mod", b"a"), ("go.sum", b"b")]);
        assert_eq!(one.len(), 16);
        assert_eq!(one, digest(&[("go.mod", b"a"), ("go.sum", b"b")]));
        assert_ne!(one, digest(&[("go.mod", b"ab"), ("go.sum", b"")]));
        // A SHA-256 fixed here: a change of algorithm or framing would silently rebuild every cached binary.
        assert_eq!(digest(&[]), "e3b0c44298fc1c14");
    }

    #[test]
    fn a_manifest_for_another_release_is_refused_before_anything_runs() {
        let recipe = tempfile::tempdir().unwrap();
        std::fs::write(recipe.path().join("manifest.yaml"), "dist:\n  name: otelcol-contrib\n  version: 0.1.0\n")
            .unwrap();
        let err = collector(recipe.path(), "0.2.0", &recipe.path().join("cache")).unwrap_err();
        assert!(err.contains("builds 0.1.0, not 0.2.0"), "{err}");
    }

    #[test]
    fn a_cached_binary_is_returned_without_go() {
        let recipe = tempfile::tempdir().unwrap();
        let (go_mod, go_sum) = ("module x\n// Jaeger 9.9.9 is module version v1.0.0\n", "");
        std::fs::write(recipe.path().join("go.mod"), go_mod).unwrap();
        std::fs::write(recipe.path().join("go.sum"), go_sum).unwrap();
        let ldflags = jaeger_ldflags("9.9.9");
        let key = digest(&[("go.mod", go_mod.as_bytes()), ("go.sum", b""), ("ldflags", ldflags.as_bytes())]);
        let cached = recipe.path().join(format!("jaeger-9.9.9-{key}"));
        std::fs::write(&cached, "binary").unwrap();
        assert_eq!(jaeger(recipe.path(), "9.9.9", recipe.path()), Ok(cached));
        let err = jaeger(recipe.path(), "9.9.8", recipe.path()).unwrap_err();
        assert!(err.contains("does not pin Jaeger 9.9.8"), "{err}");
    }
}
