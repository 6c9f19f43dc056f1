//! A full Redis (`maxmemory` reached, `noeviction` as redis/redis.conf ships it) refuses the INCR, and the app answers
//! 503 instead of losing the counter. The file's settings themselves are tests/twin/redis_config.rs.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_full_redis_refuses_the_count_instead_of_evicting_it() {
    let t = spawn_app().await;
    assert_eq!(t.get("/count").await.status(), StatusCode::OK);

    // Any write past maxmemory is refused under noeviction; 1 byte makes "full" immediate.
    t.redis.cli(&["CONFIG", "SET", "maxmemory", "1"]).expect("CONFIG SET");
    let refused = t.get("/count").await;
    let direct = t.redis.cli(&["INCR", "visits"]).expect("redis-cli runs");
    t.redis.cli(&["CONFIG", "SET", "maxmemory", "64mb"]).expect("CONFIG SET");

    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE, "a full Redis is a 503, not a lost count");
    assert!(direct.starts_with("OOM"), "INCR refused: {direct}");
    assert_eq!(t.counter(), 1, "the counter is still there and was not reset");
    // What docs/troubleshooting.md tells operators to grep for.
    let log = t.log_with("OOM");
    assert!(log.lines().any(|l| l.contains("request failed") && l.contains("OOM")), "the cause is logged:\n{log}");
}
