//! Instructions and heap allocations per `/count`, by telemetry configuration: one replica at a time under
//! callgrind, against a local Redis and exporting to the bench's OTLP sink. Allocations are the calls to Rust's
//! allocator entry points that callgrind records (whatever the global allocator is; DHAT would see none with
//! mimalloc). Counts, not seconds: the same binary and inputs give the same figure on a busy machine (two runs agree
//! within 0.3%), so this suite is the one to compare commits with on shared cores.
//!
//! Each configuration serves [`FEW`] then [`MANY`] sequential `GET /count` on one keep-alive connection in two runs;
//! counts are zeroed once the replica is ready (`callgrind_control -z`), and the difference of the two totals over
//! `MANY - FEW` is one request's cost (the shutdown flush cancels out). User-space work of the replica only: the
//! kernel's share is not counted.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use harness::{http::KeepAlive, ports, redis::Redis, wait};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use super::{Bench, report::Table, targets::Figure};

const FEW: u64 = 300;
const MANY: u64 = 1300;

/// Rust's allocator entry points: each call is one new heap block.
const ALLOCATING: [&str; 2] = ["__rustc::__rust_alloc", "__rustc::__rust_alloc_zeroed"];

/// One run's totals.
#[derive(Clone, Copy)]
struct Totals {
    instructions: u64,
    allocations: u64,
}

/// A configuration: its label, the environment it adds, and the figure of the targets table it gives, if any.
type Configuration = (&'static str, Vec<(&'static str, &'static str)>, Option<Figure>);

/// The configurations compared: telemetry off (with and without the per-request stdout line), the app's default,
/// every request traced with the line on stdout, and compose as shipped.
fn configurations() -> [Configuration; 5] {
    let traced = ("OTEL_TRACES_SAMPLER", "parentbased_always_on");
    let off = ("OTEL_SDK_DISABLED", "true");
    [
        ("telemetry off (`OTEL_SDK_DISABLED=true`)", vec![off], Some(Figure::InstructionsOff)),
        (
            "telemetry off, no request line (`LOG_REQUESTS=otlp`)",
            vec![off, NO_LINE],
            Some(Figure::InstructionsOffNoLine),
        ),
        ("default: 1 new trace in 100", vec![], None),
        ("every request traced (`parentbased_always_on`)", vec![traced], Some(Figure::InstructionsTraced)),
        (
            "compose as shipped: every request traced, `LOG_REQUESTS=otlp`",
            vec![traced, NO_LINE],
            Some(Figure::InstructionsCompose),
        ),
    ]
}

/// The per-request line as an OTLP record only (when the request is traced), not on stdout.
const NO_LINE: (&str, &str) = ("LOG_REQUESTS", "otlp");

pub(super) fn instructions(bench: &Bench) -> Result<Table, String> {
    let redis = Redis::start(&bench.work.join("instructions-redis"))?;
    let mut rows = Vec::new();
    let mut off = None;
    for (label, extra, figure) in configurations() {
        let mut env: Vec<(String, String)> = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), bench.sink.endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
            ("TOKIO_WORKER_THREADS".into(), "1".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        eprintln!("==> instructions: {label}");
        let few = measure(bench, &redis, &env, FEW)?;
        let many = measure(bench, &redis, &env, MANY)?;
        let per = |count: fn(Totals) -> u64| count(many).saturating_sub(count(few)) as f64 / (MANY - FEW) as f64;
        let instructions = per(|t| t.instructions);
        let allocations = per(|t| t.allocations);
        if let Some(figure) = figure {
            bench.figures.record(figure, instructions);
        }
        let base = *off.get_or_insert(instructions);
        rows.push(vec![
            label.to_owned(),
            format!("{instructions:.0}"),
            format!("{:.2}", instructions / base),
            format!("{allocations:.1}"),
        ]);
    }
    Ok(Table {
        title: "Instructions and allocations per `/count` (valgrind)".into(),
        command: "cargo xtask bench --only instructions".into(),
        columns: vec!["configuration", "instructions per request", "vs off", "heap allocations per request"],
        rows,
        notes: vec![format!(
            "One replica (TOKIO_WORKER_THREADS=1, JSON log line per request to a file, spans and log records \
             exported over OTLP/HTTP to a local sink) under `valgrind --tool=callgrind`; {FEW} and {MANY} \
             sequential requests on one keep-alive connection, the difference of the totals divided by {}. \
             User-space instructions of the replica only; allocations are calls to `__rust_alloc` and \
             `__rust_alloc_zeroed`.",
            MANY - FEW
        )],
        chart: None,
    })
}

/// Run the replica under callgrind, send `requests` `GET /count`, stop it with SIGTERM and read the totals.
fn measure(bench: &Bench, redis: &Redis, env: &[(String, String)], requests: u64) -> Result<Totals, String> {
    let (port, metrics_port) = (ports::free_port(), ports::free_port());
    let out = bench.work.join(format!("valgrind-{port}.out"));
    let log = bench.work.join(format!("valgrind-{port}.log"));
    let mut child = spawn(bench, redis, env, &out, &log, (port, metrics_port))?;
    let served = (|| {
        let ready = || harness::http::get(port, "/healthz").is_ok_and(|(status, _)| status == 200);
        wait::until("the replica under valgrind to answer /healthz", Duration::from_secs(120), ready)?;
        zero_counts(child.id())?;
        let connection = KeepAlive::new()?;
        for _ in 0..requests {
            match connection.get(port, "/count") {
                Ok((200, _)) => {}
                other => return Err(format!("GET /count under valgrind: {other:?}")),
            }
        }
        Ok(())
    })();
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(|e| e.to_string())?);
    let _ = kill(pid, Signal::SIGTERM);
    let status = child.wait().map_err(|e| format!("valgrind: {e}"))?;
    served?;
    if !status.success() {
        return Err(format!("the replica under valgrind exited with {status}; its output: {}", log.display()));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let instructions = callgrind_total(&text).ok_or_else(|| format!("no total in {}", out.display()))?;
    let allocations = callgrind_calls(&text, &ALLOCATING);
    if allocations == 0 {
        let binary = bench.binary.display();
        return Err(format!(
            "no call to {ALLOCATING:?} in {}: is {binary} stripped? (see: nm {binary})",
            out.display()
        ));
    }
    Ok(Totals { instructions, allocations })
}

/// Zero callgrind's counts of process `pid` once it is ready: start-up is not a request's cost, and part of it does
/// not cancel out between runs (metrics' clock calibration loops for as long as the clock takes to settle).
fn zero_counts(pid: u32) -> Result<(), String> {
    let out = Command::new("callgrind_control").args(["-z", &pid.to_string()]).output();
    let out = out.map_err(|e| format!("callgrind_control: {e}"))?;
    if !out.status.success() {
        return Err(format!("callgrind_control -z {pid} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

fn spawn(
    bench: &Bench,
    redis: &Redis,
    env: &[(String, String)],
    out: &Path,
    log: &Path,
    (port, metrics_port): (u16, u16),
) -> Result<Child, String> {
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let stderr = log_file.try_clone().map_err(|e| e.to_string())?;
    let binary: &PathBuf = &bench.binary;
    Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("REDIS_HOST", "127.0.0.1")
        .env("REDIS_PORT", redis.port().to_string())
        .env("PORT", port.to_string())
        .env("METRICS_PORT", metrics_port.to_string())
        .env("RUST_LOG", "info")
        // Under valgrind a request takes tens of times longer: budgets that do not turn slowness into 503s.
        .env("REDIS_TIMEOUT_MS", "5000")
        .env("REQUEST_TIMEOUT_MS", "10000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("valgrind: {e}"))
}

/// The `totals:` (or `summary:`) line of a callgrind output file: instructions executed.
fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// How often functions named in `callees` were called, from a callgrind output file: a call is a `cfn=` line naming
/// the callee (`(id) name` the first time, `(id)` after) followed by `calls=<count> …`.
fn callgrind_calls(text: &str, callees: &[&str]) -> u64 {
    let mut names = std::collections::HashMap::new();
    let mut callee: Option<bool> = None;
    let mut total = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("fn=").or_else(|| line.strip_prefix("cfn=")) {
            let (id, name) = rest.split_once(' ').unwrap_or((rest, ""));
            if !name.is_empty() {
                names.insert(id.to_owned(), callees.contains(&name));
            }
            callee = line.starts_with("cfn=").then(|| names.get(id).copied().unwrap_or(false));
        } else if let (Some(count), Some(true)) = (line.strip_prefix("calls="), callee.take()) {
            total += count.split_whitespace().next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::{callgrind_calls, callgrind_total};

    #[test]
    fn reads_callgrind_totals_and_call_counts() {
        let out = "events: Ir\nfn=(1) main\n1 5\ncfn=(2) __rustc::__rust_alloc\ncalls=3 10\n2 40\ncfn=(3) free\n\
                   calls=7 11\n3 9\nfn=(4) other\ncfn=(2)\ncalls=4 10\n4 12\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(callgrind_total(out), Some(123_456));
        assert_eq!(callgrind_total("events: Ir\n"), None);
        assert_eq!(callgrind_calls(out, &["__rustc::__rust_alloc"]), 7);
        assert_eq!(callgrind_calls(out, &["free"]), 7);
        assert_eq!(callgrind_calls(out, &["nothing"]), 0);
    }
}
