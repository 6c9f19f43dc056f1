//! Invalid configuration: a non-zero exit and one line naming the variable. Valid help and a working healthcheck.

use std::{
    process::{Command, Output, Stdio},
    time::Duration,
};

use reqwest::StatusCode;

use crate::helpers::{BINARY, spawn_app};

/// Run the binary with one variable set, killing it if it has not exited within 10 s (an accepted value would
/// start a server: the test then fails instead of hanging).
fn run_with(var: &str, value: &str) -> Output {
    run_with_all(&[(var, value)])
}

fn run_with_all(vars: &[(&str, &str)]) -> Output {
    let mut child = Command::new(BINARY)
        .env_clear()
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("PORT", harness::ports::free_port().to_string())
        .env("METRICS_PORT", harness::ports::free_port().to_string())
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let exited = harness::wait::until("the binary to exit", Duration::from_secs(10), || {
        child.try_wait().ok().flatten().is_some()
    });
    if exited.is_err() {
        let _ = child.kill();
    }
    child.wait_with_output().expect("output")
}

#[test]
fn every_invalid_variable_is_named_in_one_line() {
    let cases = [
        ("REDIS_PORT", "abc"),
        ("REDIS_PORT", "0"),
        ("REDIS_PORT", "65536"),
        ("PORT", "70000"),
        ("METRICS_PORT", "-1"),
        ("REDIS_DB", "-1"),
        ("REDIS_KEY", ""),
        ("REDIS_HOST", ""),
        ("REDIS_USERNAME", ""),
        ("REDIS_PASSWORD", ""),
        ("REDIS_POOL_SIZE", "0"),
        ("REDIS_TIMEOUT_MS", "0"),
        ("READY_TIMEOUT_MS", "0"),
        ("REQUEST_TIMEOUT_MS", "soon"),
        ("SHUTDOWN_GRACE_SECS", "0"),
        ("LOG_FORMAT", "xml"),
        ("LOG_REQUESTS", "file"),
        ("BIND_ADDRESS", "localhost:80"),
        ("REPLICA_NAME", ""),
        ("REQUEST_TIMEOUT_MS", "100"), // not above REDIS_TIMEOUT_MS (250)
        ("OTEL_PROPAGATORS", "b3"),
        ("OTEL_TRACES_SAMPLER", "bogus"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), // not built in: the exporter would fall back to another
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpcc"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", " grpc"), // the exporter does not trim: it would fall back quietly
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
    ];
    for (var, value) in cases {
        let out = run_with(var, value);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value:?} was accepted");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{var}={value:?}: one line, got:\n{stderr}");
        assert!(stderr.contains(var), "{var}={value:?}: the message names the variable: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_unreadable_or_empty_password_file_is_named() {
    let empty = tempfile::NamedTempFile::new().unwrap();
    for path in ["/nonexistent/secret", empty.path().to_str().unwrap()] {
        let out = run_with("REDIS_PASSWORD_FILE", path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{path} was accepted");
        assert!(stderr.contains("REDIS_PASSWORD_FILE") && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}

#[test]
fn help_documents_every_variable_and_hides_the_password() {
    let out = Command::new(BINARY).arg("--help").env("REDIS_PASSWORD", "hunter2").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for var in ["REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_KEY", "REDIS_USERNAME", "REDIS_PASSWORD", "PORT"] {
        assert!(help.contains(&format!("env: {var}")), "--help lacks {var}");
    }
    for var in ["METRICS_PORT", "REDIS_POOL_SIZE", "REDIS_TIMEOUT_MS", "SHUTDOWN_GRACE_SECS", "REQUEST_TIMEOUT_MS"] {
        assert!(help.contains(&format!("env: {var}")), "--help lacks {var}");
    }
    assert!(!help.contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_never_reaches_the_logs() {
    let t = crate::helpers::spawn_app_with(&[("REDIS_USERNAME", "nobody"), ("REDIS_PASSWORD", "s3cr3t-pw")]).await;
    // No such ACL user: authentication fails, and the failure is logged with its cause.
    assert_eq!(t.get("/count").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let log = t.log_with("request failed");
    assert!(log.contains("request failed") && log.contains("WRONGPASS"), "the failure and its cause are logged: {log}");
    assert!(!log.contains("s3cr3t-pw"), "{log}");
}

/// Liveness, not readiness: a container that orchestrators restart when unhealthy must not be restarted for a Redis
/// outage, which a restart cannot end.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_subcommand_reports_liveness_by_exit_code_and_ignores_a_redis_outage() {
    let mut t = spawn_app().await;
    let probe = |port: u16| Command::new(BINARY).arg("healthcheck").env("PORT", port.to_string()).output().unwrap();

    assert!(probe(t.app.port).status.success(), "serving replica");
    t.redis.stop(nix::sys::signal::Signal::SIGKILL).unwrap();
    assert_eq!(t.get("/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let outage = probe(t.app.port);
    assert!(outage.status.success(), "Redis down: still live: {}", String::from_utf8_lossy(&outage.stderr));
    // The metrics listener answers, but not /healthz: an answer other than 200 fails too.
    assert_eq!(probe(t.app.metrics_port).status.code(), Some(1), "404 is not healthy");
    let nothing = probe(harness::ports::free_port());
    assert_eq!(nothing.status.code(), Some(1), "nothing listening");
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("connect"), "the reason, in one line");
}

#[test]
fn a_ratio_sampler_with_an_invalid_argument_is_named() {
    for arg in ["2", "-0.1", "half", ""] {
        let out =
            run_with_all(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", arg)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "OTEL_TRACES_SAMPLER_ARG={arg:?} was accepted");
        assert!(stderr.contains("OTEL_TRACES_SAMPLER_ARG") && stderr.trim_end().lines().count() == 1, "{stderr}");
    }
}
