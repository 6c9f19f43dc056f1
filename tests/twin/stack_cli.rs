//! `stack up` / `stack down` as a user runs them: the stack detaches into a pid file, `down` stops every process by
//! pid and keeps the data (the counter continues on the next start), `down --wipe` removes it.

use std::time::Duration;

use harness::stack::{
    Stack, StackSpec,
    detached::{down, status},
    pids,
};
use reqwest::StatusCode;

use crate::helpers::{BINARY, client, heavy_load};

/// Stops a detached stack even when an assertion fails first.
struct Detached<'a>(&'a std::path::Path);

impl Drop for Detached<'_> {
    fn drop(&mut self) {
        let _ = down(self.0, false);
    }
}

async fn up_count_and_detach(spec: &StackSpec, times: usize) {
    let stack = Stack::start(spec).expect("stack starts");
    for _ in 0..times {
        assert_eq!(client().get(stack.nginx.url("/count")).send().await.unwrap().status(), StatusCode::OK);
    }
    stack.detach().expect("pid file written");
}

#[tokio::test(flavor = "multi_thread")]
async fn down_stops_every_process_by_pid_and_keeps_the_data_until_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stack");
    let _guard = Detached(&state);
    let spec = StackSpec::on_free_ports(state.clone(), BINARY.into(), 2);

    up_count_and_detach(&spec, 3).await;
    let entries = pids::read(&state).unwrap();
    assert_eq!(entries.iter().map(|e| e.role.as_str()).collect::<Vec<_>>(), ["redis", "web", "web", "nginx"]);
    assert!(entries.iter().all(pids::Entry::alive), "detached processes outlive their handles");
    status(&state, true).expect("status: all ready");

    down(&state, false).unwrap();
    assert!(entries.iter().all(|e| !e.alive()), "down stopped them all");
    assert!(status(&state, false).is_err(), "status reports the stack down");

    let again = Stack::start(&StackSpec::on_free_ports(state.clone(), BINARY.into(), 1)).unwrap();
    let body = client().get(again.nginx.url("/count")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "Visit count: 4", "the data survived down/up");
    drop(again);
    down(&state, true).unwrap();
    assert!(!state.exists(), "--wipe removes data, credentials and certificate");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_monitored_stack_detaches_and_down_stops_prometheus_and_the_exporters_too() {
    // Prometheus starting: kept apart from the exactness tests.
    let _heavy = heavy_load().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stack");
    let _guard = Detached(&state);
    let mut spec = StackSpec::on_free_ports(state.clone(), BINARY.into(), 1);
    spec.monitoring = true;

    Stack::start(&spec).expect("stack starts").detach().expect("pid file written");
    let entries = pids::read(&state).unwrap();
    let roles: Vec<&str> = entries.iter().map(|e| e.role.as_str()).collect();
    assert_eq!(roles, ["redis", "web", "nginx", "redis-exporter", "nginx-exporter", "prometheus"]);
    // Polled: the exporters' /metrics asks Redis and NGINX first, which on a loaded machine can take a moment.
    let healthy =
        harness::wait::until("status: every process ready", Duration::from_secs(20), || status(&state, true).is_ok());
    healthy.expect("Prometheus and the exporters included");

    down(&state, true).unwrap();
    assert!(entries.iter().all(|e| !e.alive()), "down stopped them all");
}

#[test]
fn a_taken_port_stops_stack_up_at_once_with_nginxs_reason() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let dir = tempfile::tempdir().unwrap();
    let mut spec = StackSpec::on_free_ports(dir.path().join("stack"), BINARY.into(), 1);
    spec.port = taken.local_addr().unwrap().port();

    let error = Stack::start(&spec).expect_err("no stack on a taken port");

    // NGINX's own exit and reason, not a start-up timeout (no timing asserted: the steps before NGINX run on shared
    // cores).
    assert!(error.contains("nginx exited at start") && error.contains("Address already in use"), "{error}");
    assert!(!error.contains("timed out"), "{error}");
}
