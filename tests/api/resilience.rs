//! Redis going away and coming back: fast 503s while it is gone, no lost count, recovery without a restart.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use reqwest::{StatusCode, header};

use crate::helpers::{TestApp, spawn_app, spawn_app_before_redis};

/// Count `n` times, asserting each succeeds.
async fn count(t: &TestApp, n: usize) {
    for _ in 0..n {
        assert_eq!(t.get("/count").await.status(), StatusCode::OK);
    }
}

async fn restart_keeps_the_count_and_the_app_recovers(signal: Signal) {
    let mut t = spawn_app().await;
    count(&t, 10).await;

    t.redis.stop(signal).unwrap();
    t.redis.restart().unwrap();

    // Redis answers PING again: the very next request must succeed, on a fresh connection.
    let next = t.get("/count").await;
    assert_eq!(next.status(), StatusCode::OK, "first request after the restart");
    assert_eq!(next.text().await.unwrap(), "Visit count: 11", "the count survived the restart");
    count(&t, 20).await;
    assert_eq!(t.counter(), 31);
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_redis_restart_loses_nothing() {
    restart_keeps_the_count_and_the_app_recovers(Signal::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_with_sigkill_loses_nothing() {
    restart_keeps_the_count_and_the_app_recovers(Signal::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_down_means_fast_503_and_not_ready_but_alive() {
    let mut t = spawn_app().await;
    count(&t, 1).await;
    t.redis.stop(Signal::SIGKILL).unwrap();

    for _ in 0..5 {
        let start = Instant::now();
        let response = t.get("/count").await;
        let elapsed = start.elapsed();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        // A generous bound that catches hangs; speed itself is measured by the benchmark, not here.
        assert!(elapsed < Duration::from_secs(2), "503 took {elapsed:?}");
        let body = response.text().await.unwrap().to_lowercase();
        for internal in ["refused", "os error", "broken pipe", "io error", "timed out"] {
            assert!(!body.contains(internal), "internal error text in the body: {body}");
        }
    }
    assert_eq!(t.get("/healthz").await.status(), StatusCode::OK);
    let ready = t.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(reason["status"], "unavailable");
    assert!(reason["reason"].as_str().is_some_and(|r| r.contains("redis")));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_started_before_redis_becomes_ready_when_redis_starts() {
    let mut t = spawn_app_before_redis().await;
    assert_eq!(t.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(t.get("/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(t.get("/count").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    t.redis.restart().unwrap();

    // The pool connects in the background; poll with a deadline rather than sleep.
    // docs/testing.md: ready within a second of Redis; 2 s leaves room for a loaded CI machine.
    let deadline = Instant::now() + Duration::from_secs(2);
    while t.get("/readyz").await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "not ready 2 s after Redis started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(t.get("/count").await.text().await.unwrap(), "Visit count: 1");
}
