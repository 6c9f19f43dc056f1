//! A replica stops under load — crashes (SIGKILL) or is stopped as `docker compose` scales down (SIGTERM, drain):
//! NGINX fails over to the others, and no visit is counted twice although NGINX could have retried it.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::{StreamExt, stream};
use nix::sys::signal::Signal;
use reqwest::StatusCode;

use crate::{helpers::heavy_load, stack::spawn_stack_with};

const SENT: usize = 1200;
const CONCURRENCY: usize = 16;

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_under_load_fails_over_and_nothing_counts_twice() {
    replica_stopped_under_load(Signal::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_stopped_gracefully_under_load_fails_over_and_nothing_counts_twice() {
    replica_stopped_under_load(Signal::SIGTERM).await;
}

async fn replica_stopped_under_load(signal: Signal) {
    let _heavy = heavy_load().await;
    // Budgets that outlast a busy machine but not NGINX's 5 s read timeout: the only failures left are the stop's.
    let t = Arc::new(spawn_stack_with(3, &[("REDIS_TIMEOUT_MS", "3000"), ("REQUEST_TIMEOUT_MS", "4000")]));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(Vec::with_capacity(SENT)));

    let load = tokio::spawn({
        let (t, succeeded, statuses) = (t.clone(), succeeded.clone(), statuses.clone());
        async move {
            let requests = stream::iter(0..SENT).map(|_| t.count()).buffer_unordered(CONCURRENCY);
            requests
                .for_each(|(status, _)| {
                    if status == StatusCode::OK {
                        succeeded.fetch_add(1, Ordering::SeqCst);
                    }
                    statuses.lock().unwrap().push(status);
                    async {}
                })
                .await;
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while succeeded.load(Ordering::SeqCst) < 300 {
        assert!(tokio::time::Instant::now() < deadline, "the load got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    t.stack.replicas[0].signal(signal).unwrap();
    tokio::time::timeout(Duration::from_secs(60), load).await.expect("no hang").unwrap();

    let statuses = statuses.lock().unwrap().clone();
    let failed: Vec<_> = statuses.iter().filter(|s| **s != StatusCode::OK).collect();
    let ok = statuses.len() - failed.len();
    eprintln!("{signal}: sent {SENT}, succeeded {ok}, failed {} ({failed:?})", failed.len());
    assert!(failed.iter().all(|s| **s == StatusCode::BAD_GATEWAY), "only 502s, for requests caught by the stop");
    assert!(failed.len() <= CONCURRENCY, "failover after at most one batch in flight: {} failed", failed.len());
    assert!(statuses[statuses.len() - 300..].iter().all(|s| *s == StatusCode::OK), "the others keep serving");
    let log = t.stack.nginx.log();
    let retried =
        log.lines().filter(|l| l.contains(r#""uri":"/count""#) && l.contains(r#""upstream_addr":"127.0.0.1:"#));
    let retried: Vec<_> = retried.filter(|l| l.contains(", 127.0.0.1:")).collect();
    assert!(retried.is_empty(), "a /count went to a second replica (could count twice): {retried:?}");
    let counter = t.stack.counter().unwrap();
    assert!(counter as usize <= SENT, "counter {counter} > {SENT} sent: something was counted twice");
    assert!(counter as usize >= ok, "counter {counter} < {ok} acknowledged: a visit was lost");
}
