//! The load suites of `cargo xtask bench` (proxy, telemetry, redis, soak) and the build suite, each returning its tables
//! (`instructions` counts under valgrind, in its own module).

use harness::{
    app::{App, AppSpec},
    redis::Redis,
    stack::{Stack, StackSpec},
};

use super::{
    Bench, chart,
    cpu::{Group, Meter, Usage},
    memory::{PeakSampler, rss_kib},
    report::Table,
    targets::Figure,
    wrk::{self, Run},
};

/// `/count` through NGINX vs `/healthz` through NGINX vs `/count` on one replica, with compose's settings and with the
/// app's default sampler, and `/count` through NGINX with telemetry off; where each request's CPU goes; memory per
/// replica.
pub(super) fn proxy(bench: &Bench) -> Result<Vec<Table>, String> {
    let start = |name: &str, sampler: &[(&str, &str)]| {
        let mut spec = StackSpec::on_free_ports(bench.work.join(name), bench.binary.clone(), 3);
        spec.env = exporting(bench);
        // As compose: each request's line an OTLP record only, not on stdout.
        spec.env.push(("LOG_REQUESTS".into(), "otlp".into()));
        spec.env.extend(sampler.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Stack::start(&spec)
    };
    // The twin's replicas trace every request, as compose's do; the second stack runs the app's default sampler.
    let compose = start("stack", &[])?;
    let default = start(
        "stack-default",
        &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.01")],
    )?;
    let off = start("stack-off", &[("OTEL_SDK_DISABLED", "true")])?;
    let pids: Vec<u32> = compose.replicas.iter().map(App::pid).collect();
    let idle: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
    let cases = [
        ("`/count` via NGINX, 3 replicas", compose.nginx.url("/count")),
        ("`/healthz` via NGINX, 3 replicas (the proxy's ceiling)", compose.nginx.url("/healthz")),
        ("`/count` on one replica, no NGINX", compose.replicas[0].url("/count")),
        ("`/count` via NGINX, 3 replicas, app's default sampler", default.nginx.url("/count")),
        ("`/count` on one replica, no NGINX, app's default sampler", default.replicas[0].url("/count")),
        ("`/count` via NGINX, 3 replicas, telemetry off", off.nginx.url("/count")),
    ];
    let stacks = [&compose, &default, &off];
    let meter = Meter::new(vec![
        Group { name: "NGINX", pids: stacks.iter().flat_map(|s| nginx_pids(s)).collect() },
        Group { name: "replicas", pids: stacks.iter().flat_map(|s| s.replicas.iter().map(App::pid)).collect() },
        Group { name: "Redis", pids: stacks.iter().filter_map(|s| s.redis.pid()).collect() },
    ]);
    let sampler = PeakSampler::start(&pids);
    let (runs, usage) = alternate(bench, &cases, &meter)?;
    let peaks = sampler.finish();
    // Each stack's counter against its own cases: counts lost on one cannot hide behind extra ones on the other.
    check_counter(compose.counter()?, &cases[..3], &runs[..3])?;
    check_counter(default.counter()?, &cases[3..5], &runs[3..5])?;
    check_counter(off.counter()?, &cases[5..], &runs[5..])?;

    bench.figures.record(Figure::NginxTraced, wrk::median(&runs[0]).rps);
    bench.figures.record(Figure::NginxOff, wrk::median(&runs[5]).rps);
    let o = bench.options;
    let command = format!("cargo xtask bench --only proxy --seconds {} --rounds {}", o.seconds, o.rounds);
    let throughput = ratio_table(
        "Throughput: the Redis path against the proxy's ceiling",
        command.clone(),
        &cases,
        &runs,
        vec![format!(
            "Replicas run as compose runs them: TOKIO_WORKER_THREADS=1, every request traced \
             (`parentbased_always_on`), except the two rows with the app's default (1 new trace in 100) and the last \
             row (`OTEL_SDK_DISABLED=true`: the first row's req/s over the last's is what tracing every request \
             leaves); spans and log records exported to a local sink, each request's line as a record only \
             (`LOG_REQUESTS=otlp`, untraced requests' lines nowhere); wrk {} threads, {} connections.",
            o.threads, o.connections
        )],
    );
    let cpu = cpu_table("Where each request's CPU goes (µs per request)", command, &cases, &runs, &usage, &meter);
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
        notes: vec![
            "Sampled from /proc/<pid>/status (VmRSS) every 100 ms; the replicas that trace every request.".into(),
        ],
        chart: None,
    };
    Ok(vec![throughput, cpu, memory])
}

/// NGINX's master and its workers.
fn nginx_pids(stack: &Stack) -> Vec<u32> {
    let master = stack.nginx.pid();
    std::iter::once(master).chain(harness::nginx::children(master)).collect()
}

/// `/count` with telemetry off, with the app's default sampler (spans and log records exported), the same without
/// log records, with compose's sampler, and with every span sampled.
pub(super) fn telemetry(bench: &Bench) -> Result<Vec<Table>, String> {
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
    let quiet = start("quiet", with(&[("OTEL_SDK_DISABLED", "true"), ("RUST_LOG", "warn")]))?;
    let default = start("default", with(&[]))?;
    let no_logs = start("no-logs", with(&[("OTEL_LOGS_EXPORTER", "none")]))?;
    let compose = start("compose", with(&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")]))?;
    let all = start("all", with(&[("OTEL_TRACES_SAMPLER", "always_on")]))?;
    let cases = [
        ("telemetry off (`OTEL_SDK_DISABLED=true`)", off.url("/count")),
        ("telemetry off and no request log line (`RUST_LOG=warn`)", quiet.url("/count")),
        ("default settings (1 new trace in 100, log records exported)", default.url("/count")),
        ("default sampler, log records not exported (`OTEL_LOGS_EXPORTER=none`)", no_logs.url("/count")),
        ("compose's sampler (`parentbased_always_on`)", compose.url("/count")),
        ("every span sampled (`always_on`)", all.url("/count")),
    ];
    let apps = [&off, &quiet, &default, &no_logs, &compose, &all];
    let meter = Meter::new(vec![
        Group { name: "replica", pids: apps.iter().map(|a| a.pid()).collect() },
        Group { name: "Redis", pids: redis.pid().into_iter().collect() },
    ]);
    let (runs, usage) = alternate(bench, &cases, &meter)?;
    check_counter(redis.get_i64("visits")?, &cases, &runs)?;
    let o = bench.options;
    let command = format!("cargo xtask bench --telemetry --seconds {} --rounds {}", o.seconds, o.rounds);
    let cpu = cpu_table("Telemetry: CPU per `/count` request (µs)", command.clone(), &cases, &runs, &usage, &meter);
    let throughput = ratio_table(
        "Telemetry overhead on `/count`",
        command,
        &cases,
        &runs,
        vec![format!(
            "One replica per row on one Redis, default worker threads; every row but the second logs one JSON line per \
             request to stdout, and the rows with the default sampler (all but the first three) also export it as an \
             OTLP log record when the request is traced. The OTLP sink received {} \
             export requests ({} of them log exports).",
            bench.sink.requests(),
            bench.sink.log_requests()
        )],
    );
    Ok(vec![throughput, cpu])
}

/// `redis-benchmark -t incr` at the same concurrency, with the shipped `appendfsync always` and with Redis's default
/// `everysec` (switched by `CONFIG SET` on the same server), alternately.
pub(super) fn redis(bench: &Bench) -> Result<Table, String> {
    let redis = Redis::start(&bench.work.join("redis-benchmark"))?;
    let o = bench.options;
    let settings = ["always", "everysec"];
    let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); settings.len()];
    for round in 1..=o.rounds {
        for (i, fsync) in settings.iter().enumerate() {
            eprint!(
                "\r==> round {round}/{}: redis-benchmark -t incr -c {}, appendfsync {fsync}{:10}",
                o.rounds, o.connections, ""
            );
            redis.cli(&["CONFIG", "SET", "appendfsync", fsync])?;
            results[i].push(super::redis::incr(redis.port(), o.connections, 500_000)?);
        }
    }
    let rows = settings
        .iter()
        .zip(&mut results)
        .map(|(fsync, runs)| {
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (rps, p50) = runs[runs.len() / 2];
            let shipped = if *fsync == "always" { " (shipped: `redis/redis.conf`)" } else { " (Redis's default)" };
            vec![format!("AOF on, `appendfsync {fsync}`{shipped}"), format!("{rps:.0}"), format!("{p50:.3}")]
        })
        .collect();
    Ok(Table {
        title: "Redis alone: the counter's ceiling".into(),
        command: format!(
            "redis-benchmark -t incr -c {} -n 500000, {} rounds (via cargo xtask bench --only redis)",
            o.connections, o.rounds
        ),
        columns: vec!["configuration", "INCR/s (median)", "p50 ms"],
        rows,
        notes: vec!["One redis-server; `appendfsync` switched with `CONFIG SET` between runs.".into()],
        chart: None,
    })
}

/// `/count` through NGINX for `--soak-seconds`: does a replica's memory grow?
pub(super) fn soak(bench: &Bench) -> Result<Table, String> {
    let mut spec = StackSpec::on_free_ports(bench.work.join("soak"), bench.binary.clone(), 3);
    spec.env = exporting(bench);
    let stack = Stack::start(&spec)?;
    let url = stack.nginx.url("/count");
    let o = bench.options;
    eprint!("\r==> warming up{:50}", "");
    wrk::run(&url, o.threads, o.connections, 10)?;
    let pids: Vec<u32> = stack.replicas.iter().map(App::pid).collect();
    let before: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
    eprint!("\r==> soak: {} s of /count through NGINX{:20}", o.soak_seconds, "");
    let run = wrk::run(&url, o.threads, o.connections, o.soak_seconds)?;
    let after: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
    if stack.counter()? < (run.requests - run.errors) as i64 {
        return Err("lost counts during the soak".into());
    }
    let rows = before
        .iter()
        .zip(&after)
        .enumerate()
        .map(|(i, (b, a))| {
            let growth = 100.0 * (*a as f64 - *b as f64) / (*b).max(1) as f64;
            vec![format!("web-{}", i + 1), mib(*b), mib(*a), format!("{growth:+.1}%")]
        })
        .collect();
    Ok(Table {
        title: format!("Memory over a {}-second soak", o.soak_seconds),
        command: format!("cargo xtask bench --only soak --soak-seconds {}", o.soak_seconds),
        columns: vec!["replica", "after warm-up MiB", "after the soak MiB", "growth"],
        rows,
        notes: vec![format!("{} requests at {:.0} req/s through NGINX, {} errors.", run.requests, run.rps, run.errors)],
        chart: None,
    })
}

/// Clean and incremental release builds, and the binary's size.
pub(super) fn build(bench: &Bench) -> Result<Table, String> {
    let scratch = bench.work.join("build-target");
    let _ = std::fs::remove_dir_all(&scratch);
    eprint!("\r==> clean release build{:40}", "");
    let clean = cargo_build(&scratch)?;
    let main = harness::paths::workspace_root().join("src").join("main.rs");
    let text = std::fs::read(&main).map_err(|e| e.to_string())?;
    std::fs::write(&main, &text).map_err(|e| e.to_string())?; // a new mtime: cargo rebuilds the crate only
    eprint!("\r==> incremental release build{:40}", "");
    let incremental = cargo_build(&scratch)?;
    let size = std::fs::metadata(scratch.join("release").join("visit-counter")).map_err(|e| e.to_string())?.len();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Table {
        title: "Build".into(),
        command: "cargo xtask bench --only build".into(),
        columns: vec!["what", "value"],
        rows: vec![
            vec!["clean release build (`cargo build --release -p visit-counter`)".into(), format!("{clean:.0} s")],
            vec!["incremental release build after touching `src/main.rs`".into(), format!("{incremental:.1} s")],
            vec!["release binary (stripped)".into(), format!("{:.1} MiB", size as f64 / 1048576.0)],
        ],
        notes: vec![],
        chart: None,
    })
}

fn cargo_build(target: &std::path::Path) -> Result<f64, String> {
    let start = std::time::Instant::now();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--package", "visit-counter"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(harness::paths::workspace_root())
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build failed".into());
    }
    Ok(start.elapsed().as_secs_f64())
}

/// The environment that points a replica's exporter at the bench's OTLP sink.
fn exporting(bench: &Bench) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), bench.sink.endpoint.clone()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
    ]
}

/// wrk against each case in turn, `rounds` times; with the CPU time each case's runs cost, summed over rounds.
fn alternate(bench: &Bench, cases: &[(&str, String)], meter: &Meter) -> Result<(Vec<Vec<Run>>, Vec<Usage>), String> {
    let o = bench.options;
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); cases.len()];
    let mut usage: Vec<Usage> = vec![Usage::default(); cases.len()];
    for round in 1..=o.rounds {
        for (i, (label, url)) in cases.iter().enumerate() {
            let label: String = label.chars().take(40).collect();
            eprint!("\r==> round {round}/{}: {label:<42}", o.rounds);
            let (run, used) = meter.measure(|| wrk::run(url, o.threads, o.connections, o.seconds))?;
            runs[i].push(run);
            usage[i].add(&used);
        }
    }
    Ok((runs, usage))
}

/// CPU microseconds per request by process group, over all of a case's rounds: who pays for a request.
fn cpu_table(
    title: &str,
    command: String,
    cases: &[(&str, String)],
    runs: &[Vec<Run>],
    usage: &[Usage],
    meter: &Meter,
) -> Table {
    let mut columns = vec!["configuration", "wrk"];
    columns.extend(meter.names());
    columns.extend(["OTLP sink", "rest", "total µs", "cores busy"]);
    let rows = cases
        .iter()
        .zip(runs)
        .zip(usage)
        .map(|(((label, _), runs), used)| {
            let requests = runs.iter().map(|r| r.requests).sum::<u64>().max(1) as f64;
            let per = |seconds: f64| format!("{:.1}", seconds * 1e6 / requests);
            let mut row = vec![label.to_string(), per(used.load)];
            row.extend(used.groups.iter().map(|g| per(*g)));
            row.extend([per(used.own), per(used.rest()), per(used.machine_busy)]);
            row.push(format!("{:.0}%", 100.0 * used.machine_busy / used.machine_total.max(1e-9)));
            row
        })
        .collect();
    Table {
        title: title.into(),
        command,
        columns,
        rows,
        notes: vec![
            "CPU time (user + system) read from /proc/<pid>/stat before and after each wrk run, divided by the \
             requests wrk completed; `rest` is the machine's busy time (/proc/stat) not charged to a listed \
             process (mostly the kernel's network work run in interrupts). When the cores are saturated, \
             throughput is inversely proportional to `total`."
                .into(),
        ],
        chart: None,
    }
}

/// Medians with ratios to the first row.
fn ratio_table(title: &str, command: String, cases: &[(&str, String)], runs: &[Vec<Run>], notes: Vec<String>) -> Table {
    let first = wrk::median(&runs[0]);
    let medians: Vec<(String, Run)> =
        cases.iter().zip(runs).map(|((l, _), r)| (l.to_string(), wrk::median(r))).collect();
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
        chart: Some(chart::latency(title, &medians)),
    }
}

/// Nothing acknowledged was lost: the counter is at least the successful `/count` responses (it may be above:
/// wrk stops mid-request, and a request can be counted without wrk reading its 200).
pub(super) fn check_counter(counter: i64, cases: &[(&str, String)], runs: &[Vec<Run>]) -> Result<(), String> {
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
