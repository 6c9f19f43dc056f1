//! The pins of `.env` are what runs: each local image reports the version its pin names (major.minor, the contract
//! of `.env`), so a pin and the image the suite runs cannot drift apart.

use harness::images::pins::{self, major_minor};

use crate::project::Project;

/// How to ask each image its version: (variable, entrypoint override, arguments, the text before the version).
const PROBES: &[(&str, Option<&str>, &[&str], &str)] = &[
    ("NGINX_IMAGE", Some("nginx"), &["-v"], "nginx/"),
    ("REDIS_IMAGE", Some("redis-server"), &["--version"], "v="),
    ("PROMETHEUS_IMAGE", None, &["--version"], "version "),
    ("ALERTMANAGER_IMAGE", None, &["--version"], "version "),
    ("REDIS_EXPORTER_IMAGE", Some("/redis_exporter"), &["--version"], "Exporter "),
    ("NGINX_EXPORTER_IMAGE", None, &["--version"], "version "),
    ("BUSYBOX_IMAGE", Some("/bin/busybox"), &[], "BusyBox v"),
    ("OTELCOL_IMAGE", None, &["--version"], "version "),
    ("JAEGER_IMAGE", None, &["version"], "\"gitVersion\":\"v"),
    ("RUST_IMAGE", Some("rustc"), &["--version"], "rustc "),
];

pub(crate) fn images_report_the_pinned_versions(project: &Project) -> Result<String, String> {
    let local = pins::read(&project.root.join("target/images.env"))?;
    let pins = pins::read(&project.root.join(".env"))?;
    let mut lines = Vec::new();
    for (var, entrypoint, args, marker) in PROBES {
        let (pin, image) = (&pins[*var], local.get(*var).ok_or_else(|| format!("images.env has no {var}"))?);
        let mut command = vec!["run", "--rm", "--network", "none"];
        if let Some(entrypoint) = entrypoint {
            command.extend(["--entrypoint", entrypoint]);
        }
        command.push(image);
        command.extend_from_slice(args);
        let out = std::process::Command::new("docker").args(&command).output().map_err(|e| e.to_string())?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let reported = version_after(&text, marker).ok_or_else(|| format!("{image}: no version in {text:?}"))?;
        let wanted = pins::version(pin)?;
        if major_minor(&reported) != major_minor(&wanted) {
            return Err(format!("{var}: .env pins {pin}, the local image {image} runs {reported}"));
        }
        lines.push(format!("{var}: {pin} → {image} reports {reported}"));
    }
    // The Debian release and the runtime: trixie's glibc in both, no shell in the runtime.
    let debian = &local["DEBIAN_IMAGE"];
    let codename = project.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        debian,
        "sh",
        "-c",
        ". /etc/os-release; echo $VERSION_CODENAME",
    ])?;
    let wanted = pins["DEBIAN_IMAGE"].rsplit(':').next().unwrap_or_default().split('-').next().unwrap_or_default();
    if codename != wanted {
        return Err(format!("DEBIAN_IMAGE: .env pins {}, {debian} is {codename}", pins["DEBIAN_IMAGE"]));
    }
    lines.push(format!("DEBIAN_IMAGE: {} → {debian} is {codename}", pins["DEBIAN_IMAGE"]));
    let runtime = &local["RUNTIME_IMAGE"];
    let libc = project.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/lib/x86_64-linux-gnu/libc.so.6",
        runtime,
    ])?;
    let glibc = libc.lines().next().unwrap_or_default().to_owned();
    let shell = project.docker(&["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", runtime, "-c", "true"]);
    if !glibc.contains("Debian GLIBC") || shell.is_ok() {
        return Err(format!("RUNTIME_IMAGE {runtime}: {glibc:?}, shell present: {}", shell.is_ok()));
    }
    lines.push(format!("RUNTIME_IMAGE: {} → {runtime}: {glibc}, no shell", pins["RUNTIME_IMAGE"]));
    lines.push(format!(
        "LOKI_IMAGE: {} → {} is a stand-in (not Loki; no version of its own)",
        pins["LOKI_IMAGE"], local["LOKI_IMAGE"]
    ));
    Ok(lines.join("\n"))
}

/// The dotted version right after `marker` in `text`.
fn version_after(text: &str, marker: &str) -> Option<String> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let version: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    version.contains('.').then(|| version.trim_end_matches('.').to_owned())
}
