//! The three suites of `cargo xtask bench`, each returning its tables.

use crate::{
    app::{App, AppSpec},
    redis::Redis,
    stack::{Stack, StackSpec},
};

use super::{
    Bench,
    memory::{PeakSampler, rss_kib},
    report::Table,
    wrk::{self, Run},
};

/// `/count` through NGINX vs `/healthz` through NGINX vs `/count` on one replica; memory per replica.
pub fn proxy(bench: &Bench) -> Result<Vec<Table>, String> {
    let mut spec = StackSpec::on_free_ports(bench.work.join("stack"), bench.binary.clone(), 3);
    spec.env = exporting(bench);
    let stack = Stack::start(&spec)?;
    let pids: Vec<u32> = stack.replicas.iter().map(App::pid).collect();
    let idle: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
    let nginx = |path: &str| format!("http://127.0.0.1:{}{path}", stack.nginx.port);
    let cases = [
        ("`/count` via NGINX, 3 replicas", nginx("/count")),
        ("`/healthz` via NGINX, 3 replicas (the proxy's ceiling)", nginx("/healthz")),
        ("`/count` on one replica, no NGINX", stack.replicas[0].url("/count")),
    ];
    let sampler = PeakSampler::start(&pids);
    let runs = alternate(bench, &cases)?;
    let peaks = sampler.finish();
    check_counter(stack.counter()?, &cases, &runs)?;

    let o = bench.options;
    let throughput = ratio_table(
        "Throughput: the Redis path against the proxy's ceiling",
        format!("cargo xtask bench --only proxy --seconds {} --rounds {}", o.seconds, o.rounds),
        &cases,
        &runs,
        vec![format!(
            "Replicas run with TOKIO_WORKER_THREADS=1 (as in compose), default telemetry exporting to a local sink, \
             one JSON log line per request; wrk {} threads, {} connections.",
            o.threads, o.connections
        )],
    );
    let rows = idle
        .iter()
        .zip(&peaks)
        .enumerate()
        .map(|(i, (idle, peak))| vec![format!("web-{}", i + 1), mib(*idle), mib(*peak)])
        .collect();
    let memory = Table {
        title: "Resident memory per replica".into(),
        command: "cargo xtask bench --only proxy".into(),
        columns: vec!["replica", "idle MiB", "peak under the load above MiB"],
        rows,
        notes: vec!["Sampled from /proc/<pid>/status (VmRSS) every 100 ms.".into()],
    };
    Ok(vec![throughput, memory])
}

/// `/count` with telemetry off, at the default (every span sampled), and 10% sampled.
pub fn telemetry(bench: &Bench) -> Result<Table, String> {
    let redis = Redis::start(&bench.work.join("telemetry-redis"))?;
    let export = exporting(bench);
    let with = |extra: &[(&str, &str)]| {
        let mut env = export.clone();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };
    let start = |name: &str, env: Vec<(String, String)>| {
        let log = bench.work.join(format!("telemetry-{name}.log"));
        App::start(&AppSpec { binary: bench.binary.clone(), redis_port: redis.port(), env, log })
    };
    let off = start("off", with(&[("OTEL_SDK_DISABLED", "true")]))?;
    let default = start("default", with(&[]))?;
    let ratio = start(
        "ratio",
        with(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")]),
    )?;
    let cases = [
        ("telemetry off (`OTEL_SDK_DISABLED=true`)", off.url("/count")),
        ("default: every span sampled", default.url("/count")),
        ("10% sampled (`parentbased_traceidratio`, 0.1)", ratio.url("/count")),
    ];
    let runs = alternate(bench, &cases)?;
    check_counter(redis.get_i64("visits")?, &cases, &runs)?;
    let o = bench.options;
    Ok(ratio_table(
        "Telemetry overhead on `/count`",
        format!("cargo xtask bench --telemetry --seconds {} --rounds {}", o.seconds, o.rounds),
        &cases,
        &runs,
        vec![format!(
            "One replica per row on one Redis, default worker threads; every row logs one JSON line per request. The \
             OTLP sink received {} export requests.",
            bench.sink.requests()
        )],
    ))
}

/// `redis-benchmark -t incr` at the same concurrency.
pub fn redis(bench: &Bench) -> Result<Table, String> {
    let redis = Redis::start(&bench.work.join("redis-benchmark"))?;
    let o = bench.options;
    eprint!("\r==> redis-benchmark -t incr -c {}{:30}", o.connections, "");
    let (rps, p50) = super::redis::incr(redis.port(), o.connections, 500_000)?;
    Ok(Table {
        title: "Redis alone: the counter's ceiling".into(),
        command: format!("redis-benchmark -t incr -c {} -n 500000 (via cargo xtask bench --only redis)", o.connections),
        columns: vec!["configuration", "INCR/s", "p50 ms"],
        rows: vec![vec!["redis-server, AOF on".into(), format!("{rps:.0}"), format!("{p50:.3}")]],
        notes: vec![],
    })
}

/// The environment that points a replica's exporter at the bench's OTLP sink.
fn exporting(bench: &Bench) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), format!("http://127.0.0.1:{}", bench.sink.port)),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
    ]
}

/// wrk against each case in turn, `rounds` times.
fn alternate(bench: &Bench, cases: &[(&str, String)]) -> Result<Vec<Vec<Run>>, String> {
    let o = bench.options;
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); cases.len()];
    for round in 1..=o.rounds {
        for (i, (label, url)) in cases.iter().enumerate() {
            let label: String = label.chars().take(40).collect();
            eprint!("\r==> round {round}/{}: {label:<42}", o.rounds);
            runs[i].push(wrk::run(url, o.threads, o.connections, o.seconds)?);
        }
    }
    Ok(runs)
}

/// Medians with ratios to the first row.
fn ratio_table(title: &str, command: String, cases: &[(&str, String)], runs: &[Vec<Run>], notes: Vec<String>) -> Table {
    let first = wrk::median(&runs[0]);
    let rows = cases
        .iter()
        .zip(runs)
        .map(|((label, _), case)| {
            let m = wrk::median(case);
            let errors: u64 = case.iter().map(|r| r.errors).sum();
            vec![
                label.to_string(),
                format!("{:.0}", m.rps),
                format!("{:.2}", m.rps / first.rps),
                format!("{:.2}", m.p50_ms),
                format!("{:.2}", m.p99_ms),
                errors.to_string(),
            ]
        })
        .collect();
    Table {
        title: title.into(),
        command,
        columns: vec!["configuration", "req/s (median)", "vs first row", "p50 ms", "p99 ms", "errors"],
        rows,
        notes,
    }
}

/// Nothing acknowledged was lost: the counter is at least the successful `/count` responses (it may be above:
/// wrk stops mid-request, and a request can be counted without wrk reading its 200).
fn check_counter(counter: i64, cases: &[(&str, String)], runs: &[Vec<Run>]) -> Result<(), String> {
    let counted = cases.iter().zip(runs).filter(|((_, url), _)| url.ends_with("/count"));
    let succeeded: u64 = counted.flat_map(|(_, r)| r).map(|r| r.requests - r.errors).sum();
    if counter < succeeded as i64 {
        return Err(format!("lost counts: counter {counter} < {succeeded} acknowledged"));
    }
    Ok(())
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
