//! A replica's `/metrics` page as Prometheus' own linter reads it: `promtool check metrics` finds nothing to report.
//! What the page holds is tests/api/metrics.rs.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use reqwest::StatusCode;

use crate::stack::spawn_stack_with;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_pass_promtool() {
    let t = spawn_stack_with(1, &[("OTEL_SDK_DISABLED", "true")]);
    assert_eq!(t.http.get(t.url("/count")).send().await.unwrap().status(), StatusCode::OK);
    t.http.get(t.url("/nope")).send().await.unwrap();
    let replica = &t.stack.replicas[0];
    let (status, text) = harness::http::get(replica.metrics_port, "/metrics").expect("the metrics port answers");
    assert_eq!(status, 200);

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (scripts/test.sh installs it)");
    promtool.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}");
}
