//! `spawn_app()`: a fresh Redis (AOF on, temp dir, random port) and one app replica pointed at it, both stopped when
//! the returned value is dropped.

use std::{path::Path, time::Duration};

use harness::{
    app::{App, AppSpec},
    redis::Redis,
};
use reqwest::header::ACCEPT;
use tempfile::TempDir;

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_visit-counter");

pub(crate) struct TestApp {
    pub app: App,
    pub redis: Redis,
    pub http: reqwest::Client,
    /// Holds the data and logs; removed on drop, after the processes above are stopped.
    pub _dir: TempDir,
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Start Redis, then the app with extra environment `env`.
pub(crate) async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = Redis::start(&dir.path().join("redis")).expect("redis starts");
    let app = App::start(&spec(dir.path(), redis.port(), env)).expect("app starts");
    TestApp { app, redis, http: client(), _dir: dir }
}

/// Start the app against a Redis that has a port but is not running yet.
pub(crate) async fn spawn_app_before_redis() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = Redis::stopped(&dir.path().join("redis")).expect("redis dir");
    let app = App::start(&spec(dir.path(), redis.port(), &[])).expect("app starts");
    TestApp { app, redis, http: client(), _dir: dir }
}

pub(crate) fn spec(dir: &Path, redis_port: u16, env: &[(&str, &str)]) -> AppSpec {
    AppSpec {
        binary: BINARY.into(),
        redis_port,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        log: dir.join("app.log"),
    }
}

/// A client with a generous timeout: a hang fails the test instead of stalling the suite.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client")
}

impl TestApp {
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.app.url(path)).send().await.expect("request sent")
    }

    pub(crate) async fn get_as(&self, path: &str, accept: &str) -> reqwest::Response {
        self.http.get(self.app.url(path)).header(ACCEPT, accept).send().await.expect("request sent")
    }

    /// The app's log once it contains `needle` (lines are written by a background thread, a moment after the
    /// response), or the log as it is after 5 s.
    pub(crate) fn log_with(&self, needle: &str) -> String {
        let mut log = String::new();
        let _ = harness::wait::until(needle, std::time::Duration::from_secs(5), || {
            log = self.app.log();
            log.contains(needle)
        });
        log
    }

    /// The counter as Redis has it.
    pub(crate) fn counter(&self) -> i64 {
        self.redis.get_i64("visits").expect("GET visits")
    }
}

/// Tests that load the machine (hundreds of concurrent requests) take this lock, so they never run at the same time:
/// on two cores, two of them together starve the replicas past their Redis budget and turn exactness tests into
/// load-shedding tests.
pub(crate) async fn heavy_load() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}
