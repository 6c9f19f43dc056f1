//! Counting is exact: concurrent requests each get their own number and move the counter by exactly their count.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{heavy_load, spawn_app_with};

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_concurrent_counts_move_the_counter_by_exactly_500() {
    let _heavy = heavy_load().await;
    // A budget for the burst, not for Redis outages: this test is about exactness, and 500 simultaneous requests on a
    // debug build sharing two busy cores can take longer than the default 250 ms to be served.
    let t = spawn_app_with(&[("REDIS_TIMEOUT_MS", "5000"), ("REQUEST_TIMEOUT_MS", "6000")]).await;
    t.redis.cli(&["SET", "visits", "1000"]).unwrap();

    let requests = (0..500).map(|_| async {
        let response = t.http.get(t.app.url("/count")).header("accept", "application/json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<serde_json::Value>().await.unwrap()["count"].as_i64().unwrap()
    });
    let counts = join_all(requests).await;

    let distinct: HashSet<i64> = counts.iter().copied().collect();
    assert_eq!(distinct.len(), 500, "every request got its own number");
    assert_eq!(distinct, (1001..=1500).collect(), "the numbers are exactly the next 500");
    assert_eq!(t.counter(), 1500);
}
