//! A stack detached by `stack up`, found through its pid file: stopped by pid (`stack down`), or probed process by
//! process (`stack status`).

use std::{path::Path, time::Duration};

use serde_json::{Value, json};

use super::pids::{self, Entry};
use crate::{http, init::Credentials, redis::Redis};

/// Stop the detached stack whose state is in `dir`; with `wipe`, delete that state too.
pub fn down(dir: &Path, wipe: bool) -> Result<(), String> {
    let entries = pids::read(dir)?;
    // Prometheus and the exporters first (they only watch), then NGINX (no new requests), then the replicas (they
    // drain), then Redis (SIGTERM writes the AOF).
    for role in ["prometheus", "redis-exporter", "nginx-exporter", "nginx", "web", "redis"] {
        for entry in entries.iter().filter(|e| e.role == role) {
            eprintln!("==> stopping {role} (pid {})", entry.pid);
            pids::terminate(entry, Duration::from_secs(15))?;
        }
    }
    let _ = std::fs::remove_file(pids::path(dir));
    if wipe {
        std::fs::remove_dir_all(dir)
            .or_else(|e| if dir.exists() { Err(e) } else { Ok(()) })
            .map_err(|e| e.to_string())?;
    }
    println!("down: stopped {} processes{}", entries.len(), if wipe { "; data wiped" } else { "; data kept" });
    Ok(())
}

/// Print the state of the detached stack in `dir`; `Err` unless every process is up and ready.
pub fn status(dir: &Path, as_json: bool) -> Result<(), String> {
    let entries = pids::read(dir)?;
    let rows: Vec<Value> = entries.iter().map(|e| probe(dir, e)).collect();
    let healthy = !rows.is_empty() && rows.iter().all(|r| r["healthy"] == true);
    if as_json {
        println!("{}", json!({ "up": !rows.is_empty(), "healthy": healthy, "processes": rows }));
    } else if rows.is_empty() {
        println!("down (no pid file in {})", dir.display());
    } else {
        for r in &rows {
            println!(
                "{:<6} pid {:<8} {:<22} {}",
                r["role"].as_str().unwrap_or(""),
                r["pid"],
                r["address"].as_str().unwrap_or(""),
                r["check"].as_str().unwrap_or("")
            );
        }
    }
    if healthy { Ok(()) } else { Err("not every process is up and ready".into()) }
}

/// One row of `stack status`: is the process alive, and does it answer what it is there for?
fn probe(dir: &Path, entry: &Entry) -> Value {
    let port = entry.ports.first().copied().unwrap_or(0);
    let check = if !entry.alive() {
        Err("not running".to_owned())
    } else {
        match entry.role.as_str() {
            "redis" => Credentials::admin_of(&dir.join("credentials"))
                .and_then(|acl| Redis::attach(port, dir, Some(acl)).cli(&["PING"]))
                .map(|reply| format!("PING: {reply}")),
            "web" => http_check(port, "/readyz"),
            "prometheus" => http_check(port, "/-/ready"),
            "redis-exporter" | "nginx-exporter" => http_check(port, "/metrics"),
            // NGINX: a replica through the public port (which blocks /readyz), and its own status port.
            _ => http_check(port, "/healthz").and_then(|a| {
                http_check(*entry.ports.get(2).unwrap_or(&0), "/stub_status").map(|b| format!("{a}; {b}"))
            }),
        }
    };
    json!({
        "role": entry.role,
        "pid": entry.pid,
        "address": format!("127.0.0.1:{port}"),
        "healthy": check.is_ok(),
        "check": check.unwrap_or_else(|e| e),
    })
}

fn http_check(port: u16, path: &str) -> Result<String, String> {
    match http::get(port, path)? {
        (200, _) => Ok(format!("{path}: 200")),
        (status, _) => Err(format!("{path}: {status}")),
    }
}
