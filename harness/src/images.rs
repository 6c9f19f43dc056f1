//! Every image `docker-compose.yml` and the `Dockerfile` need, built on this machine without an
//! image registry, at the versions `.env` pins; then `target/images.env`, one `NAME=image:tag` line per image variable,
//! so that `docker compose --env-file .env --env-file target/images.env up --build` runs the shipped compose file on
//! them with nothing else changed. `cargo xtask images` runs [`build`].
//!
//! - Bases: Debian root filesystems from `debootstrap` ([`debian`]) — the release the Dockerfile uses, and Debian
//!   testing for the stand-ins — a distroless-like runtime and a Rust builder carrying this machine's toolchain.
//! - Stand-ins for the upstream images (recipes in `images/<name>/`, each naming the official Dockerfile it mirrors):
//!   Debian's packages of the pinned major.minor, the Collector and Jaeger built from their Go modules
//!   ([`gobuild`]), and a Loki stand-in (Loki cannot run here).
//! - The benchmark's peer, not part of the stack: the classic Flask + Redis counter of Docker's "compose getting
//!   started" from Debian's packages (`images/flask-peer/`, FLASK_PEER_IMAGE; `cargo xtask bench --only compose`).
//! - Grafana has no stand-in: GRAFANA_IMAGE keeps its official name and the acceptance suite does not start it.
//!
//! Each image is rebuilt only when its cache key changes ([`recipe`]): a second run with nothing changed takes
//! seconds. Local images are named `visit-counter-local/<what they are>:<version>`, never with an official name.

mod debian;
mod docker;
mod gobuild;
pub mod pins;
mod recipe;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::Instant,
};

use crate::paths;

/// The prefix of every image made here.
pub const LOCAL: &str = "visit-counter-local";

/// Debian testing, where the stand-ins' packages come from (NGINX, Redis, Prometheus, Alertmanager, the exporters,
/// busybox at the versions `.env` pins; the stable release has older ones).
pub const TESTING: &str = "forky";

/// Where images.env goes unless told otherwise: `<workspace>/target/images.env`, whatever CARGO_TARGET_DIR says, so
/// that the README's compose command finds it.
pub fn env_file() -> PathBuf {
    paths::workspace_root().join("target").join("images.env")
}

/// What this machine keeps between runs: logs, build contexts, the Go binaries. Outside the clone, keyed by version.
pub fn state_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache"),
        PathBuf::from,
    );
    cache.join("visit-counter").join("images")
}

/// `Ok` when a Docker engine answers; else one line saying how to start one.
pub fn require_engine() -> Result<(), String> {
    docker::require_engine()
}

/// Build (or find cached) every image, then write their names to `env_path` (see the module doc).
pub fn build(env_path: &Path) -> Result<(), String> {
    let started = Instant::now();
    docker::require_engine()?;
    let root = paths::workspace_root();
    let pins = pins::read(&root.join(".env"))?;
    let state = state_dir();
    fs::create_dir_all(state.join("logs")).map_err(|e| format!("cannot create {}: {e}", state.display()))?;

    // The Go builds take minutes: in the background while the Debian images are made.
    let go = {
        let (root, state) = (root.clone(), state.clone());
        let collector = pins::version(pins::image(&pins, "OTELCOL_IMAGE")?)?;
        let jaeger = pins::version(pins::image(&pins, "JAEGER_IMAGE")?)?;
        thread::spawn(move || {
            let bin = state.join("go");
            let collector = gobuild::collector(&root.join("images/otel-collector"), &collector, &bin);
            let jaeger = gobuild::jaeger(&root.join("images/jaeger"), &jaeger, &bin);
            (collector, jaeger)
        })
    };

    let mut images = Images { root: root.clone(), state, env: BTreeMap::new(), built: 0, cached: 0 };
    let suite = pins::suite(pins::image(&pins, "DEBIAN_IMAGE")?)?;
    // The release the Dockerfile uses, as bare as debian:<release>-slim; testing with Debian's CA bundle, which the
    // stand-ins of images that carry one (the Collector's, Jaeger's) copy.
    let debian = images.base(&suite, &[], "DEBIAN_IMAGE")?;
    let testing = images.base(TESTING, &["ca-certificates"], "")?;
    let runtime = images.build(
        "RUNTIME_IMAGE",
        format!("{LOCAL}/distroless-cc:{suite}"),
        "distroless-cc",
        &[("BASE", debian.clone())],
        &[],
    )?;
    let (toolchain, rust_version) = toolchain(&pins)?;
    let host_ca = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    images.build(
        "RUST_IMAGE",
        format!("{LOCAL}/rust:{rust_version}-{suite}"),
        "rust",
        &[("BASE", debian)],
        &[("toolchain/bin", toolchain.join("bin")), ("toolchain/lib", toolchain.join("lib")), ("host-ca.crt", host_ca)],
    )?;
    for (var, name, recipe) in [
        ("NGINX_IMAGE", "nginx", "nginx"),
        ("REDIS_IMAGE", "redis", "redis"),
        ("PROMETHEUS_IMAGE", "prometheus", "prometheus"),
        ("ALERTMANAGER_IMAGE", "alertmanager", "alertmanager"),
        ("REDIS_EXPORTER_IMAGE", "redis_exporter", "redis-exporter"),
        ("NGINX_EXPORTER_IMAGE", "nginx-prometheus-exporter", "nginx-exporter"),
        ("BUSYBOX_IMAGE", "busybox", "busybox"),
    ] {
        let version = pins::version(pins::image(&pins, var)?)?;
        let args = [("BASE", testing.clone()), ("VERSION", pins::major_minor(&version))];
        images.build(var, format!("{LOCAL}/{name}:{version}"), recipe, &args, &[])?;
    }
    // Not in the stack: the peer `cargo xtask bench --only compose` compares it with (images/flask-peer/).
    let peer = [("BASE", testing.clone())];
    images.build("FLASK_PEER_IMAGE", format!("{LOCAL}/flask-peer:{TESTING}"), "flask-peer", &peer, &[])?;
    let loki = pins::version(pins::image(&pins, "LOKI_IMAGE")?)?;
    images.build(
        "LOKI_IMAGE",
        format!("{LOCAL}/loki-standin:{loki}"),
        "loki",
        &[("BASE", testing.clone()), ("RUNTIME", runtime)],
        &[("loki", loki_standin()?)],
    )?;

    let (collector, jaeger) = go.join().map_err(|_| "the Go builds panicked")?;
    let version = pins::version(pins::image(&pins, "OTELCOL_IMAGE")?)?;
    images.build(
        "OTELCOL_IMAGE",
        format!("{LOCAL}/otelcol-contrib:{version}"),
        "otel-collector",
        &[("BASE", testing.clone())],
        &[("otelcol-contrib", collector?)],
    )?;
    let version = pins::version(pins::image(&pins, "JAEGER_IMAGE")?)?;
    images.build(
        "JAEGER_IMAGE",
        format!("{LOCAL}/jaeger:{version}"),
        "jaeger",
        &[("BASE", testing)],
        &[("jaeger", jaeger?)],
    )?;

    images.write_env(env_path)?;
    println!(
        "images: {} ready in {:.0?} ({} built, {} cached); wrote {}",
        images.built + images.cached,
        started.elapsed(),
        images.built,
        images.cached,
        env_path.display()
    );
    Ok(())
}

/// The images made so far and the variables they answer.
struct Images {
    root: PathBuf,
    state: PathBuf,
    env: BTreeMap<&'static str, String>,
    built: usize,
    cached: usize,
}

impl Images {
    /// A Debian base of `suite` (`var` is the image variable it answers, or "" when it answers none).
    fn base(&mut self, suite: &str, include: &[&str], var: &'static str) -> Result<String, String> {
        let tag = format!("{LOCAL}/debian:{suite}");
        let started = Instant::now();
        let built = debian::base(suite, include, &tag, &self.state)?;
        self.done(&tag, built, started);
        if !var.is_empty() {
            self.env.insert(var, tag.clone());
        }
        Ok(tag)
    }

    /// `docker build` of `images/<recipe>/` as `tag`, unless an image of the same key exists.
    fn build(
        &mut self,
        var: &'static str,
        tag: String,
        recipe: &str,
        args: &[(&str, String)],
        extra: &[(&str, PathBuf)],
    ) -> Result<String, String> {
        let started = Instant::now();
        let dir = self.root.join("images").join(recipe);
        let mut parts = vec![("recipe", recipe::dir_digest(&dir)?)];
        for (name, value) in args {
            parts.push((name, value.clone()));
            if name.chars().all(|c| c.is_ascii_uppercase()) && value.starts_with(LOCAL) {
                parts.push(("base-id", docker::id_of(value)?));
            }
        }
        for (name, source) in extra {
            parts.push((name, if source.is_dir() { toolchain_id(source)? } else { recipe::file_digest(source)? }));
        }
        let key = recipe::key(&parts);
        let built = if docker::recipe_of(&tag).as_deref() == Some(key.as_str()) {
            false
        } else {
            let context = recipe::context(&dir, extra, &self.state)?;
            let args: Vec<_> = args.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
            let log = self.state.join("logs").join(format!("{recipe}.log"));
            docker::build(&tag, context.path(), &args, &key, &log)?;
            true
        };
        self.done(&tag, built, started);
        self.env.insert(var, tag.clone());
        Ok(tag)
    }

    fn done(&mut self, tag: &str, built: bool, started: Instant) {
        if built {
            self.built += 1;
            println!("images: {tag} built in {:.1?}", started.elapsed());
        } else {
            self.cached += 1;
            println!("images: {tag} cached");
        }
    }

    fn write_env(&self, path: &Path) -> Result<(), String> {
        let mut text = String::from(
            "# Written by `cargo xtask images`: the images built on this machine, in place of the pins of .env.\n\
             # docker compose --env-file .env --env-file target/images.env up --build --wait\n\
             # GRAFANA_IMAGE has no stand-in (Grafana cannot run here) and keeps the pin of .env.\n",
        );
        for (var, tag) in &self.env {
            text.push_str(&format!("{var}={tag}\n"));
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// This machine's Rust toolchain (its sysroot) and its major.minor, which must be the one RUST_IMAGE pins: the builder
/// image carries it, so the image compiles with what the tests compiled with.
fn toolchain(pins: &BTreeMap<String, String>) -> Result<(PathBuf, String), String> {
    let pinned = pins::version(pins::image(pins, "RUST_IMAGE")?)?;
    let rustc = |arg: &str| {
        let out = Command::new("rustc").arg(arg).output().map_err(|e| format!("cannot run rustc: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let sysroot = PathBuf::from(rustc("--print=sysroot")?);
    let version = rustc("--version")?;
    let found = version.split_whitespace().nth(1).map(pins::major_minor).unwrap_or_default();
    if found != pins::major_minor(&pinned) {
        return Err(format!(
            "RUST_IMAGE pins Rust {pinned}, but this machine's toolchain is {version} (see: rustc -V)"
        ));
    }
    Ok((sysroot, pinned))
}

/// What identifies a directory copied into a context: for the toolchain, its `rustc -vV` (hashing 600 MB would take
/// longer than the build it saves).
fn toolchain_id(dir: &Path) -> Result<String, String> {
    let rustc = dir.parent().unwrap_or(dir).join("bin").join("rustc");
    let out = Command::new(&rustc).arg("-vV").output().map_err(|e| format!("cannot run {}: {e}", rustc.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The Loki stand-in's binary (xtask's `loki-standin`), built now if it is not already.
fn loki_standin() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "--locked", "--package", "xtask", "--bin", "loki-standin"])
        .current_dir(paths::workspace_root())
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err("building loki-standin failed (see: cargo build -p xtask --bin loki-standin)".into());
    }
    Ok(paths::target_dir().join("debug").join("loki-standin"))
}
