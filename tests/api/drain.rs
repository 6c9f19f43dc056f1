//! SIGTERM: stop accepting, finish what is in flight, exit 0.

use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::StatusCode;

use crate::helpers::spawn_app_with;

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_at_sigterm_completes_and_the_process_exits_0() {
    // Budgets long enough for a request to outlive the signal; Redis holds it until the test lets go.
    let env = [("REDIS_TIMEOUT_MS", "20000"), ("REQUEST_TIMEOUT_MS", "25000"), ("SHUTDOWN_GRACE_SECS", "30")];
    let mut t = spawn_app_with(&env).await;
    t.get("/count").await; // warm the pool
    t.redis.cli(&["CLIENT", "PAUSE", "20000", "WRITE"]).unwrap();
    let in_flight = tokio::spawn(t.http.get(t.app.url("/count")).send());
    harness::wait::until("the INCR to block on the paused Redis", Duration::from_secs(5), || {
        t.redis.cli(&["INFO", "clients"]).is_ok_and(|info| info.contains("blocked_clients:1"))
    })
    .unwrap();

    t.app.signal(Signal::SIGTERM).unwrap();

    let port = t.app.port;
    harness::wait::until("the listener to close while the request is in flight", Duration::from_secs(5), || {
        !harness::wait::listening(port)
    })
    .unwrap();
    assert!(!in_flight.is_finished(), "the request is still held by Redis");
    t.redis.cli(&["CLIENT", "UNPAUSE"]).unwrap();
    let response = in_flight.await.unwrap().expect("the in-flight request completes");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "Visit count: 2");
    let status = t.app.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_on_an_idle_replica_exits_0_promptly() {
    let mut t = spawn_app_with(&[]).await;
    assert_eq!(t.get("/healthz").await.status(), StatusCode::OK);

    t.app.signal(Signal::SIGINT).unwrap();

    let status = t.app.wait_exit(Duration::from_secs(5)).unwrap();
    assert!(status.success(), "exit status {status}");
}
