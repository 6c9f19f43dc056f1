//! The timeline picture: per scenario, successes (up, green) and failures (down: 503 amber, others red) per 100 ms,
//! with every stop (red line) and return (green line) of Redis or a replica marked.

use std::time::Duration;

use svg::{
    Document,
    node::element::{Group, Line, Rectangle, Text, Title},
};

use super::{EventKind, verdict::Report};
use harness::load::Outcome;

const BUCKET: Duration = Duration::from_millis(100);
const WIDTH: f64 = 960.0;
const PANEL: f64 = 190.0;
const LEFT: f64 = 60.0;
const HALF: f64 = 65.0;
const GREEN: &str = "#2e9d4b";
const RED: &str = "#d62728";

/// An SVG document with one panel per report.
pub(super) fn timeline(reports: &[Report]) -> String {
    let height = PANEL * reports.len() as f64 + 30.0;
    let legend = "requests per 100 ms: successes up (green), 503 (amber) and other failures (red) down; red line: \
                  stop, green line: back up";
    let mut document = Document::new()
        .set("width", WIDTH)
        .set("height", height)
        .set("viewBox", (0.0, 0.0, WIDTH, height))
        .set("font-family", "sans-serif")
        .set("font-size", 11)
        .add(Rectangle::new().set("width", "100%").set("height", "100%").set("fill", "white"))
        .add(Text::new(legend).set("x", LEFT).set("y", 16).set("font-size", 12));
    for (i, report) in reports.iter().enumerate() {
        document = document.add(panel(report, 30.0 + PANEL * i as f64));
    }
    document.to_string() + "\n"
}

fn panel(report: &Report, top: f64) -> Group {
    let buckets = count(report);
    let n = buckets.len().max(1);
    let step = (WIDTH - LEFT - 20.0) / n as f64;
    let axis = top + 20.0 + HALF;
    let ok_max = buckets.iter().map(|b| b.0).max().unwrap_or(0).max(1) as f64;
    let fail_max = buckets.iter().map(|b| b.1 + b.2).max().unwrap_or(0).max(1) as f64;
    let verdict = if report.passed() { "pass" } else { "FAIL" };
    let s = &report.summary;
    let heading = format!(
        "{} — {} cycles, {} sent, {} ok, {} × 503, {} other failures: {verdict}",
        report.scenario.name(),
        report.cycles,
        s.sent,
        s.succeeded,
        s.unavailable,
        s.other_failures()
    );
    let text = |content: String, x: f64, y: f64| Text::new(content).set("x", px(x)).set("y", px(y));
    let bar = |x: f64, y: f64, w: f64, h: f64, fill: &str| {
        Rectangle::new().set("x", px(x)).set("y", px(y)).set("width", px(w)).set("height", px(h)).set("fill", fill)
    };
    let mut group = Group::new()
        .add(text(heading, LEFT, top + 12.0).set("font-weight", "bold"))
        .add(text(format!("{ok_max} ok"), 4.0, axis - HALF + 10.0))
        .add(text(format!("{fail_max} err"), 4.0, axis + HALF));
    for (i, (ok, unavailable, other)) in buckets.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let h_ok = HALF * *ok as f64 / ok_max;
        let h_503 = HALF * *unavailable as f64 / fail_max;
        let h_other = HALF * *other as f64 / fail_max;
        let w = (step - 0.5).max(0.5);
        group = group.add(bar(x, axis - h_ok, w, h_ok, GREEN));
        if h_503 > 0.0 {
            group = group.add(bar(x, axis, w, h_503, "#f0a30a"));
        }
        if h_other > 0.0 {
            group = group.add(bar(x, axis + h_503, w, h_other, RED));
        }
    }
    let line = |x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str| {
        Line::new().set("x1", px(x1)).set("y1", px(y1)).set("x2", px(x2)).set("y2", px(y2)).set("stroke", stroke)
    };
    group = group.add(line(LEFT, axis, WIDTH - 20.0, axis, "#444"));
    for e in &report.events {
        let colour = match e.kind {
            EventKind::Stop(_) => RED,
            EventKind::Up => GREEN,
            EventKind::Down | EventKind::Start => continue,
        };
        let x = LEFT + step * (e.at.as_secs_f64() / BUCKET.as_secs_f64());
        let title = Title::new(format!("{} {:?} at {:.2} s", e.target, e.kind, e.at.as_secs_f64()));
        group = group.add(line(x, axis - HALF, x, axis + HALF, colour).set("stroke-dasharray", "3,2").add(title));
    }
    let seconds = n as f64 * BUCKET.as_secs_f64();
    group
        .add(text("0 s".to_owned(), LEFT, axis + HALF + 14.0))
        .add(text(format!("{seconds:.1} s"), WIDTH - 20.0, axis + HALF + 14.0).set("text-anchor", "end"))
}

/// A coordinate to a tenth of a pixel, which keeps the file small.
fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
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
