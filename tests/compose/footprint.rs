//! Each container's memory under load next to its limit (`docker stats`), so the limits in docker-compose.yml stay
//! sized from measurements. Printed every run; `FOOTPRINT_DOC=docs/footprint.md` writes the table there.

use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;

use crate::{metrics::Load, project::Project};

/// Samples taken, one every few seconds, while the load runs.
const SAMPLES: usize = 5;

pub(crate) fn memory_under_load(project: &Project) -> Result<String, String> {
    let load = Load::start(project, Duration::from_secs(60));
    let mut peak: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for _ in 0..SAMPLES {
        // `docker stats --no-stream` itself takes ~2 s (it waits for a second reading): no sleep needed between.
        let out = project.docker(&["stats", "--no-stream", "--format", "{{json .}}"])?;
        for line in out.lines() {
            let stat: Value = serde_json::from_str(line).map_err(|e| format!("docker stats: {e}"))?;
            let name = stat["Name"].as_str().unwrap_or_default();
            let Some(service) = name.strip_prefix(&format!("{}-", crate::project::NAME)) else { continue };
            let (used, limit) = stat["MemUsage"].as_str().unwrap_or_default().split_once(" / ").unwrap_or_default();
            let (used, limit) = (mebibytes(used)?, mebibytes(limit)?);
            let entry = peak.entry(service.to_owned()).or_insert((0.0, limit));
            entry.0 = entry.0.max(used);
        }
    }
    let sent = load.stop();
    let mut table = String::from("| container | peak memory (MiB) | limit (MiB) | share |\n|---|---:|---:|---:|\n");
    let mut over = Vec::new();
    for (service, (used, limit)) in &peak {
        table.push_str(&format!("| {service} | {used:.1} | {limit:.0} | {:.0}% |\n", 100.0 * used / limit));
        if used / limit > 0.9 {
            over.push(service.clone());
        }
    }
    if let Ok(path) = std::env::var("FOOTPRINT_DOC") {
        let date = std::process::Command::new("date").arg("+%Y-%m-%d").output().map_err(|e| format!("date: {e}"))?;
        let date = String::from_utf8_lossy(&date.stdout).trim().to_owned();
        let doc = format!(
            "# Memory of each container under load, next to its limit\n\n\
             Written {date} by the compose acceptance suite (`FOOTPRINT_DOC=docs/footprint.md cargo test --test \
             compose`): peak of {SAMPLES} `docker stats` readings while ~100 /count requests a second ({sent} in all) went \
             through NGINX besides the load service's few (profile load), every request traced, on a 2-core \
             machine. The limits are docker-compose.yml's.\n\n{table}\n\
             Run on the local stand-in images (`cargo xtask images`). `loki-1` is the Loki stand-in, not Loki: its \
             figure says nothing about Loki's needs. Jaeger keeps traces in memory up to its configured bound, so its \
             figure grows with uptime; this is minutes of load.\n"
        );
        std::fs::write(project.root.join(&path), doc).map_err(|e| format!("{path}: {e}"))?;
    }
    if !over.is_empty() {
        return Err(format!("above 90% of their memory limit under a gentle load: {over:?}\n{table}"));
    }
    Ok(format!("peak of {SAMPLES} readings under load ({sent} requests):\n{}", table.trim_end()))
}

/// `12.5MiB`, `1.2GiB`, `900KiB`, `512B` → MiB.
fn mebibytes(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|e| format!("docker stats memory {text:?}: {e}"))?;
    let factor = match unit {
        "B" => 1.0 / 1024.0 / 1024.0,
        "KiB" | "kB" => 1.0 / 1024.0,
        "MiB" | "MB" => 1.0,
        "GiB" | "GB" => 1024.0,
        other => return Err(format!("docker stats memory unit {other:?}")),
    };
    Ok(number * factor)
}
