//! The timeline picture: per scenario, successes (up, green) and failures (down: 503 amber, others red) per 100 ms,
//! with every stop (red line) and return (green line) of Redis or a replica marked.

use std::{fmt::Write, time::Duration};

use super::{EventKind, verdict::Report};
use harness::load::Outcome;

const BUCKET: Duration = Duration::from_millis(100);
const WIDTH: f64 = 960.0;
const PANEL: f64 = 190.0;
const LEFT: f64 = 60.0;
const HALF: f64 = 65.0;

/// An SVG document with one panel per report.
pub fn timeline(reports: &[Report]) -> String {
    let height = PANEL * reports.len() as f64 + 30.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="16" font-size="12">requests per 100 ms: successes up (green), 503 (amber) and other failures (red) down; red line: stop, green line: back up</text>
"#
    );
    for (i, report) in reports.iter().enumerate() {
        panel(&mut svg, report, 30.0 + PANEL * i as f64);
    }
    svg.push_str("</svg>\n");
    svg
}

fn panel(svg: &mut String, report: &Report, top: f64) {
    let buckets = count(report);
    let n = buckets.len().max(1);
    let step = (WIDTH - LEFT - 20.0) / n as f64;
    let axis = top + 20.0 + HALF;
    let ok_max = buckets.iter().map(|b| b.0).max().unwrap_or(0).max(1) as f64;
    let fail_max = buckets.iter().map(|b| b.1 + b.2).max().unwrap_or(0).max(1) as f64;
    let verdict = if report.passed() { "pass" } else { "FAIL" };
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="{}" font-weight="bold">{} — {} cycles, {} sent, {} ok, {} × 503, {} other failures: {verdict}</text>"#,
        top + 12.0,
        report.scenario.name(),
        report.cycles,
        report.summary.sent,
        report.summary.succeeded,
        report.summary.unavailable,
        report.summary.other_failures()
    );
    let _ = writeln!(svg, r#"<text x="4" y="{}">{ok_max} ok</text>"#, axis - HALF + 10.0);
    let _ = writeln!(svg, r#"<text x="4" y="{}">{fail_max} err</text>"#, axis + HALF);
    for (i, (ok, unavailable, other)) in buckets.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let h_ok = HALF * *ok as f64 / ok_max;
        let h_503 = HALF * *unavailable as f64 / fail_max;
        let h_other = HALF * *other as f64 / fail_max;
        let w = (step - 0.5).max(0.5);
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h_ok:.1}" fill="#2e9d4b"/>"##,
            axis - h_ok
        );
        if h_503 > 0.0 {
            let _ = writeln!(
                svg,
                r##"<rect x="{x:.1}" y="{axis:.1}" width="{w:.1}" height="{h_503:.1}" fill="#f0a30a"/>"##
            );
        }
        if h_other > 0.0 {
            let _ = writeln!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h_other:.1}" fill="#d62728"/>"##,
                axis + h_503
            );
        }
    }
    let _ = writeln!(svg, r##"<line x1="{LEFT}" y1="{axis}" x2="{}" y2="{axis}" stroke="#444"/>"##, WIDTH - 20.0);
    for e in &report.events {
        let colour = match e.kind {
            EventKind::Stop(_) => "#d62728",
            EventKind::Up => "#2e9d4b",
            EventKind::Down | EventKind::Start => continue,
        };
        let x = LEFT + step * (e.at.as_secs_f64() / BUCKET.as_secs_f64());
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-dasharray="3,2"><title>{} {:?} at {:.2} s</title></line>"#,
            axis - HALF,
            axis + HALF,
            e.target,
            e.kind,
            e.at.as_secs_f64()
        );
    }
    let seconds = n as f64 * BUCKET.as_secs_f64();
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="{:.1}">0 s</text>"#, axis + HALF + 14.0);
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{seconds:.1} s</text>"#,
        WIDTH - 20.0,
        axis + HALF + 14.0
    );
}

/// (successes, 503s, other failures) per bucket, by the time each request ended.
fn count(report: &Report) -> Vec<(u64, u64, u64)> {
    let last = report.records.iter().map(|r| r.end()).max().unwrap_or_default();
    let mut buckets = vec![(0, 0, 0); (last.as_millis() / BUCKET.as_millis()) as usize + 1];
    for r in &report.records {
        let b = &mut buckets[(r.end().as_millis() / BUCKET.as_millis()) as usize];
        match r.outcome {
            Outcome::Ok => b.0 += 1,
            Outcome::Status(503) => b.1 += 1,
            _ => b.2 += 1,
        }
    }
    buckets
}
