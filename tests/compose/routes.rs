//! The pages as a visitor gets them, through NGINX's published ports only.

use std::process::Command;

use crate::project::{Project, run};

pub(crate) const HTTP: &str = "http://127.0.0.1:5002";

pub(crate) fn pages_through_nginx(project: &Project) -> Result<String, String> {
    let home = project.get(&format!("{HTTP}/"), "*/*")?;
    if home.status != 200 || !home.body.contains("/count") {
        return Err(format!("/ answered {} {:?}", home.status, home.body));
    }
    let text = project.get(&format!("{HTTP}/count"), "*/*")?;
    let n: i64 = text
        .body
        .strip_prefix("Visit count: ")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("/count as text answered {} {:?}", text.status, text.body))?;
    let html = project.get(&format!("{HTTP}/count"), "text/html")?;
    if !html.header("content-type").is_some_and(|t| t.starts_with("text/html"))
        || !html.body.contains(&(n + 1).to_string())
    {
        return Err(format!("/count as HTML: {:?} {:?}", html.header("content-type"), html.body));
    }
    let json = project.json(&format!("{HTTP}/count"))?;
    if json["count"] != n + 2 || !json["served_by"].is_string() {
        return Err(format!("/count as JSON after {n} and {}: {json}", n + 1));
    }
    // TLS on 5443: the self-signed certificate init made; TLS 1.2 at least, 1.1 refused by NGINX.
    let tls =
        run(Command::new("curl").args(["-sk", "--tlsv1.2", "-w", "\n%{http_code}", "https://127.0.0.1:5443/count"]))?;
    if !tls.starts_with("Visit count: ") || !tls.ends_with("200") {
        return Err(format!("https /count answered {tls:?}"));
    }
    let old = Command::new("curl")
        .args(["-sk", "--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0", "https://127.0.0.1:5443/"])
        .output()
        .map_err(|e| e.to_string())?;
    if old.status.success() {
        return Err("TLS 1.1 was accepted on 5443".into());
    }
    Ok(format!(
        "/ welcome; /count text {n}, HTML {}, JSON {} (served by {}); https 5443 {}; TLS 1.1 refused",
        n + 1,
        n + 2,
        json["served_by"],
        tls.lines().next().unwrap_or_default()
    ))
}

/// Metrics, status and readiness stay off the public port (NGINX answers 404 itself).
pub(crate) fn the_edge_hides_internal_pages(project: &Project) -> Result<String, String> {
    let mut seen = Vec::new();
    for path in ["/metrics", "/stub_status", "/readyz", "/status"] {
        let answer = project.get(&format!("{HTTP}{path}"), "*/*")?;
        if answer.status != 404 {
            return Err(format!("{path} through NGINX answered {}", answer.status));
        }
        seen.push(format!("{path} 404"));
    }
    let health = project.get(&format!("{HTTP}/healthz"), "*/*")?;
    seen.push(format!("/healthz {}", health.status));
    Ok(seen.join(", "))
}
