//! A small client of the Prometheus HTTP API for the tests on the twin, and the background load they query.

use std::{future::Future, time::Duration};

use serde_json::Value;

use crate::{helpers::client, stack::TestStack};

/// How long a series may take to appear: two scrapes (15 s apart) and a rule evaluation, with room for a loaded CI.
const SERIES_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub(crate) fn of(t: &TestStack) -> Self {
        let prometheus = &t.stack.monitoring.as_ref().expect("a monitored stack").prometheus;
        Self { http: client(), base: prometheus.url() }
    }

    /// `data` of a successful API answer; `None` on any failure (callers poll).
    pub(crate) async fn get(&self, path_and_query: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path_and_query}", self.base)).send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    /// The result vector of an instant query.
    pub(crate) async fn query(&self, promql: &str) -> Option<Value> {
        let response = self.http.get(format!("{}/api/v1/query?query={}", self.base, encode(promql))).send().await;
        let body: Value = response.ok()?.json().await.ok()?;
        assert_ne!(body["status"], "error", "{promql}: {body}");
        Some(body["data"]["result"].clone())
    }

    /// Every rule group Prometheus loaded (`/api/v1/rules`).
    pub(crate) async fn rule_groups(&self) -> Vec<Value> {
        let data = self.get("/api/v1/rules").await.expect("the rules API answers");
        data["groups"].as_array().cloned().expect("rule groups")
    }

    /// Call `check` every 250 ms until it returns `Some`, or fail the test after [`SERIES_DEADLINE`].
    pub(crate) async fn poll<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: Fn(Api) -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = std::time::Instant::now();
        loop {
            if let Some(found) = check(self.clone()).await {
                return found;
            }
            assert!(start.elapsed() < SERIES_DEADLINE, "timed out after {SERIES_DEADLINE:?} waiting for {what}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Percent-encode a query parameter (everything but unreserved characters).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /count` through NGINX about 25 times a second (at most 6000 requests) until dropped, so rates stay non-zero
/// while a test waits for scrapes.
pub(crate) fn background_load(t: &TestStack) -> Load {
    let (http, url) = (t.http.clone(), t.url("/count"));
    Load(tokio::spawn(async move {
        for _ in 0..6000 {
            let _ = http.get(&url).send().await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }))
}

/// Stops the load when dropped.
pub(crate) struct Load(tokio::task::JoinHandle<()>);

impl Drop for Load {
    fn drop(&mut self) {
        self.0.abort();
    }
}
