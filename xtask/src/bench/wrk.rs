//! Running `wrk` and reading its report.

use std::process::Command;

/// One wrk run, parsed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub rps: f64,
    pub p50_ms: f64,
    pub p75_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
}

/// Load `url` with `connections` connections on `threads` threads for `seconds`.
pub(super) fn run(url: &str, threads: u32, connections: u32, seconds: u32) -> Result<Run, String> {
    let out = Command::new("wrk")
        .args(["--latency", "-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--timeout", "5s", url])
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| format!("cannot read wrk output:\n{text}{}", String::from_utf8_lossy(&out.stderr)))
}

/// The median run by throughput.
pub(super) fn median(runs: &[Run]) -> Run {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    sorted[sorted.len() / 2]
}

fn parse(text: &str) -> Option<Run> {
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
        p75_ms: millis(field("75%")?)?,
        p90_ms: millis(field("90%")?)?,
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_wrk_output() {
        let text = "Running 1s test @ http://127.0.0.1:1/count\n  Latency Distribution\n     50%  812.00us\n     75%    1.01ms\n     90%    1.50ms\n     99%    3.20ms\n  20000 requests in 1.00s, 2.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 5\nRequests/sec:  19990.12\n";
        let run = super::parse(text).unwrap();
        assert_eq!(run.requests, 20000);
        assert_eq!(run.errors, 8);
        assert!((run.p50_ms - 0.812).abs() < 1e-9 && (run.p99_ms - 3.2).abs() < 1e-9);
        assert!((run.rps - 19990.12).abs() < 1e-6);
    }
}
