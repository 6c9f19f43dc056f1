//! `cargo xtask bench`: throughput and latency of one release replica on a local Redis, measured with `wrk`.
//!
//! Runs `/healthz` (no Redis: the HTTP ceiling of this replica) and `/count` (one INCR per request) alternately,
//! `--rounds` times each, so machine drift hits both alike, and reports medians and the ratio. After the runs it
//! checks that the counter moved by exactly the number of successful `/count` responses wrk saw.

use std::process::Command;

use crate::{
    app::{App, AppSpec},
    redis::Redis,
};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Open HTTP connections.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Alternating rounds per endpoint.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Tokio worker threads of the replica (TOKIO_WORKER_THREADS); unset: one per core.
    #[arg(long)]
    pub workers: Option<u32>,
}

/// One wrk run, parsed.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
}

pub fn run(options: &Options) -> Result<(), String> {
    crate::paths::require("wrk", "apt-get install wrk")?;
    crate::paths::require("redis-server", "apt-get install redis-server")?;
    eprintln!("==> building the release binary");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--package", "visit-counter"])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let target = crate::paths::target_dir();
    let work = target.join("xtask").join("bench");
    let _ = std::fs::remove_dir_all(&work);
    let redis = Redis::start(&work.join("redis"))?;
    let mut env = vec![("RUST_LOG".to_owned(), "warn".to_owned())];
    if let Some(workers) = options.workers {
        env.push(("TOKIO_WORKER_THREADS".to_owned(), workers.to_string()));
    }
    let spec = AppSpec {
        binary: target.join("release").join("visit-counter"),
        redis_port: redis.port(),
        env,
        log: work.join("app.log"),
    };
    let app = App::start(&spec)?;

    let (mut health, mut count) = (Vec::new(), Vec::new());
    for round in 1..=options.rounds {
        for (path, runs) in [("/healthz", &mut health), ("/count", &mut count)] {
            eprint!("\r==> round {round}/{} {path:<9}", options.rounds);
            runs.push(wrk(options, &app.url(path))?);
        }
    }
    eprintln!();

    let counted = redis.get_i64("visits")?;
    let succeeded: u64 = count.iter().map(|r| r.requests - r.errors).sum();
    let (h, c) = (median(&health), median(&count));
    println!(
        "\nvisit-counter bench: 1 replica, {} wrk threads, {} connections, {} s x {} rounds, workers: {}\n",
        options.threads,
        options.connections,
        options.seconds,
        options.rounds,
        options.workers.map_or("default".to_owned(), |w| w.to_string())
    );
    println!("| endpoint | req/s (median) | p50 ms | p99 ms | non-2xx + socket errors |");
    println!("|---|---:|---:|---:|---:|");
    for (name, m, runs) in [("/healthz (no Redis)", h, &health), ("/count (INCR)", c, &count)] {
        let errors: u64 = runs.iter().map(|r| r.errors).sum();
        println!("| {name} | {:.0} | {:.2} | {:.2} | {errors} |", m.rps, m.p50_ms, m.p99_ms);
    }
    println!("\n/count throughput is {:.0}% of /healthz on this replica.", 100.0 * c.rps / h.rps);
    println!("Counter: {counted}; successful /count responses seen by wrk: {succeeded}.");
    // wrk stops mid-request at the end of a run: a request can be counted by Redis without wrk reading its 200.
    if counted < succeeded as i64 {
        return Err(format!("lost counts: counter {counted} < {succeeded} acknowledged"));
    }
    drop(app);
    Ok(())
}

fn wrk(options: &Options, url: &str) -> Result<Run, String> {
    let out = Command::new("wrk")
        .args(["--latency", "-t", &options.threads.to_string(), "-c", &options.connections.to_string()])
        .args(["-d", &format!("{}s", options.seconds), "--timeout", "5s", url])
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).ok_or_else(|| format!("cannot read wrk output:\n{text}{}", String::from_utf8_lossy(&out.stderr)))
}

fn parse_wrk(text: &str) -> Option<Run> {
    let field = |prefix: &str| {
        text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).and_then(|r| r.split_whitespace().next())
    };
    let requests = text.lines().find(|l| l.contains(" requests in "))?.split_whitespace().next()?.parse().ok()?;
    let socket_errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|rest| rest.split(',').filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    let non_2xx: u64 = field("Non-2xx or 3xx responses:").and_then(|v| v.parse().ok()).unwrap_or(0);
    Some(Run {
        rps: field("Requests/sec:")?.parse().ok()?,
        p50_ms: millis(field("50%")?)?,
        p99_ms: millis(field("99%")?)?,
        requests,
        errors: non_2xx + socket_errors,
    })
}

/// wrk prints durations as `812.00us`, `1.23ms`, `2.01s`.
fn millis(value: &str) -> Option<f64> {
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

fn median(runs: &[Run]) -> Run {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    sorted[sorted.len() / 2]
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_wrk_output() {
        let text = "Running 1s test @ http://127.0.0.1:1/count\n  Latency Distribution\n     50%  812.00us\n     75%    1.01ms\n     90%    1.50ms\n     99%    3.20ms\n  20000 requests in 1.00s, 2.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 5\nRequests/sec:  19990.12\n";
        let run = super::parse_wrk(text).unwrap();
        assert_eq!(run.requests, 20000);
        assert_eq!(run.errors, 8);
        assert!((run.p50_ms - 0.812).abs() < 1e-9 && (run.p99_ms - 3.2).abs() < 1e-9);
        assert!((run.rps - 19990.12).abs() < 1e-6);
    }
}
