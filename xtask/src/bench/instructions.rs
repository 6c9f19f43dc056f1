//! Instructions and heap allocations per `/count`, by telemetry configuration: one replica at a time under valgrind
//! (callgrind counts instructions, DHAT counts allocations), against a local Redis and exporting to the bench's OTLP
//! sink. Counts, not seconds: the same binary and inputs give the same figure on a busy machine, so this suite is the
//! one to compare commits with on shared cores.
//!
//! Each configuration serves [`FEW`] then [`MANY`] sequential `GET /count` on one keep-alive connection in two runs;
//! the difference of the two totals over `MANY - FEW` is one request's cost (start-up, the readiness wait and the
//! shutdown flush cancel out). User-space work of the replica only: the kernel's share is not counted.

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

use super::{Bench, report::Table};

const FEW: u64 = 300;
const MANY: u64 = 1300;

/// What valgrind counts: callgrind's instructions, or DHAT's heap blocks.
#[derive(Clone, Copy)]
enum Tool {
    Callgrind,
    Dhat,
}

/// The configurations compared: telemetry off, the app's default, and compose's (every request traced).
fn configurations() -> [(&'static str, Vec<(&'static str, &'static str)>); 3] {
    [
        ("telemetry off (`OTEL_SDK_DISABLED=true`)", vec![("OTEL_SDK_DISABLED", "true")]),
        ("default: 1 new trace in 100", vec![]),
        (
            "compose: every request traced (`parentbased_always_on`)",
            vec![("OTEL_TRACES_SAMPLER", "parentbased_always_on")],
        ),
    ]
}

pub(super) fn instructions(bench: &Bench) -> Result<Table, String> {
    harness::paths::require("valgrind", "apt-get install valgrind")?;
    let redis = Redis::start(&bench.work.join("instructions-redis"))?;
    let mut rows = Vec::new();
    let mut off = None;
    for (label, extra) in configurations() {
        let mut env: Vec<(String, String)> = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), bench.sink.endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
            ("TOKIO_WORKER_THREADS".into(), "1".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        eprintln!("==> instructions: {label}");
        let per = |tool| -> Result<f64, String> {
            let few = measure(bench, &redis, &env, tool, FEW)?;
            let many = measure(bench, &redis, &env, tool, MANY)?;
            Ok(many.saturating_sub(few) as f64 / (MANY - FEW) as f64)
        };
        let instructions = per(Tool::Callgrind)?;
        let allocations = per(Tool::Dhat)?;
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
             exported over OTLP/HTTP to a local sink) under `valgrind --tool=callgrind`, then `--tool=dhat`; \
             {FEW} and {MANY} sequential requests on one keep-alive connection, the difference of the totals divided \
             by {}. User-space instructions of the replica only.",
            MANY - FEW
        )],
        chart: None,
    })
}

/// Run the replica under `tool`, send `requests` `GET /count`, stop it with SIGTERM and read the tool's total.
fn measure(bench: &Bench, redis: &Redis, env: &[(String, String)], tool: Tool, requests: u64) -> Result<u64, String> {
    let (port, metrics_port) = (ports::free_port(), ports::free_port());
    let out = bench.work.join(format!("valgrind-{port}.out"));
    let log = bench.work.join(format!("valgrind-{port}.log"));
    let mut child = spawn(bench, redis, env, tool, &out, &log, (port, metrics_port))?;
    let served = (|| {
        let ready = || harness::http::get(port, "/healthz").is_ok_and(|(status, _)| status == 200);
        wait::until("the replica under valgrind to answer /healthz", Duration::from_secs(120), ready)?;
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
    let total = match tool {
        Tool::Callgrind => callgrind_total(&text),
        Tool::Dhat => dhat_blocks(&text),
    };
    total.ok_or_else(|| format!("no total in {}", out.display()))
}

fn spawn(
    bench: &Bench,
    redis: &Redis,
    env: &[(String, String)],
    tool: Tool,
    out: &Path,
    log: &Path,
    (port, metrics_port): (u16, u16),
) -> Result<Child, String> {
    let (name, out_flag) = match tool {
        Tool::Callgrind => ("callgrind", "--callgrind-out-file"),
        Tool::Dhat => ("dhat", "--dhat-out-file"),
    };
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let stderr = log_file.try_clone().map_err(|e| e.to_string())?;
    let binary: &PathBuf = &bench.binary;
    Command::new("valgrind")
        .arg(format!("--tool={name}"))
        .arg(format!("{out_flag}={}", out.display()))
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

/// The heap blocks allocated over the run, from DHAT's JSON output (`tbk` of every program point, summed).
fn dhat_blocks(text: &str) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    json["pps"].as_array()?.iter().map(|pp| pp["tbk"].as_u64()).sum()
}

#[cfg(test)]
mod tests {
    use super::{callgrind_total, dhat_blocks};

    #[test]
    fn reads_callgrind_and_dhat_totals() {
        let callgrind =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n1 5\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(callgrind_total(callgrind), Some(123_456));
        assert_eq!(callgrind_total("events: Ir\n"), None);
        let dhat = r#"{"dhatFileVersion":2,"pps":[{"tb":10,"tbk":40},{"tb":32,"tbk":2}]}"#;
        assert_eq!(dhat_blocks(dhat), Some(42));
        assert_eq!(dhat_blocks("{}"), None);
    }
}
