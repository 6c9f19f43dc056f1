//! `redis-benchmark -t incr`: the ceiling Redis itself sets for the counter on this machine.

use std::process::Command;

/// INCR requests per second and p50 latency in ms, at `connections` clients against 127.0.0.1:`port`.
pub(super) fn incr(port: u16, connections: u32, requests: u32) -> Result<(f64, f64), String> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "incr", "-q"])
        .args(["-c", &connections.to_string(), "-n", &requests.to_string()])
        .output()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| format!("cannot read redis-benchmark output: {text:?}"))
}

/// `INCR: 123456.79 requests per second, p50=0.151 msec` (the last line of `-q`; earlier ones are progress).
fn parse(text: &str) -> Option<(f64, f64)> {
    let line = text.split(['\r', '\n']).rev().find(|l| l.contains("requests per second"))?;
    let rps = line.split_whitespace().nth(1)?.parse().ok()?;
    let p50 = line.split("p50=").nth(1)?.split_whitespace().next()?.parse().ok()?;
    Some((rps, p50))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_redis_benchmark_output() {
        let text = "INCR: rps=0.0 (overall: nan) avg_msec=nan\rINCR: 123456.79 requests per second, p50=0.151 msec\n";
        assert_eq!(super::parse(text), Some((123456.79, 0.151)));
    }
}
