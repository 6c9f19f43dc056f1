//! `cargo xtask load` as the compose `load` service runs it (`--every`, a mix, a share of traced requests), against
//! a small HTTP server on loopback that answers 200, 404 or 500 by path and keeps the `traceparent`s it was sent.

use std::{
    io::Read,
    process::{Command, Output, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The `traceparent` header of every request the server got (`None`: without one).
type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// A server on a free loopback port: `/count` 200 (JSON), `/boom` 500, anything else 404.
fn server() -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", server.server_addr().to_ip().expect("ip"));
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let traceparent =
                request.headers().iter().find(|h| h.field.equiv("traceparent")).map(|h| h.value.to_string());
            record.lock().unwrap().push(traceparent);
            let (status, body) = match request.url() {
                "/count" => (200, r#"{"count": 1}"#),
                "/boom" => (500, "boom"),
                _ => (404, "not found"),
            };
            let json = tiny_http::Header::from_bytes("content-type", "application/json").expect("header");
            let _ = request.respond(tiny_http::Response::from_string(body).with_status_code(status).with_header(json));
        }
    });
    (url, seen)
}

fn xtask(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.arg("load").args(args);
    command
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_reporting_run_logs_a_line_per_interval_and_passes_on_200_and_404() {
    let (url, seen) = server();
    let dir = tempfile::tempdir().unwrap();
    let heartbeat = dir.path().join("heartbeat");
    let heartbeat = heartbeat.to_str().unwrap();
    let out = xtask(&["--url", &url, "--mix", "/count=3,/favicon.ico=1", "--rate", "40", "--concurrency", "2"])
        .args(["--seconds", "3", "--every", "1", "--traced-percent", "50", "--heartbeat", heartbeat])
        .output()
        .unwrap();

    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.lines().filter(|l| l.starts_with("load: t=")).count() >= 2, "a line a second:\n{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("load: t=")).unwrap();
    assert!(line.contains(": 200 ") && line.contains(", 404 ") && line.contains("p99"), "{line}");
    assert!(stdout.contains("load: first traced request answered 200, traceparent 00-"), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("load: done after"), "{stdout}");
    let seen = seen.lock().unwrap().clone();
    let traced: Vec<&String> = seen.iter().flatten().collect();
    assert!(seen.len() >= 60, "about 40 a second for 3 s: {}", seen.len());
    assert!(
        traced.len() * 4 > seen.len() && traced.len() * 4 < seen.len() * 3,
        "{} of {} traced",
        traced.len(),
        seen.len()
    );
    for traceparent in traced {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert!(
            parts.len() == 4 && parts[0] == "00" && parts[1].len() == 32 && parts[2].len() == 16 && parts[3] == "01"
        );
    }
    let health = xtask(&["healthcheck"]).env("LOAD_HEARTBEAT_FILE", heartbeat).output().unwrap();
    assert!(health.status.success(), "{:?}", text(&health));
}

#[test]
fn anything_but_200_404_or_503_fails_the_run_with_one_line() {
    let (url, _) = server();
    let out = xtask(&["--url", &url, "--mix", "/count,/boom", "--rate", "20", "--seconds", "1", "--every", "1"])
        .output()
        .unwrap();

    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("500 "), "the 500s are in the summary:\n{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("answers other than 200, 404 or 503: 500 "), "{stderr}");
}

#[test]
fn sigterm_ends_a_run_until_stopped_with_its_summary() {
    let (url, seen) = server();
    let mut child = xtask(&["--url", &url, "--rate", "20", "--concurrency", "2", "--seconds", "0", "--every", "60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while seen.lock().unwrap().len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(10), "no request within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();

    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(status.success(), "{status}: {stdout}");
    assert!(stdout.contains("until stopped") && stdout.contains("load: SIGTERM"), "{stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("load: done after"), "{stdout}");
}

#[test]
fn a_bad_variable_is_rejected_with_one_line_naming_it() {
    for (variable, value) in [("LOAD_RATE", "0"), ("LOAD_MIX", "count"), ("LOAD_TRACED_PERCENT", "101")] {
        let out = xtask(&[]).env(variable, value).output().unwrap();

        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{variable}={value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("<{variable}>")) && stderr.contains(value), "{stderr}");
    }
}
