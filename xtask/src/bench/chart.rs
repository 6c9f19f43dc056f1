//! The latency distributions of a comparison side by side, as an SVG: one horizontal bar per configuration from
//! p50 to p99 on a log scale, with ticks at p50, p75, p90 and p99.

use std::fmt::Write as _;

use super::wrk::Run;

const WIDTH: f64 = 920.0;
/// Room on the right for the p50/p99 labels.
const RIGHT: f64 = 210.0;
const LEFT: f64 = 330.0;
const ROW: f64 = 34.0;

/// An SVG of `rows` (label, median run), titled `title`.
pub fn latency(title: &str, rows: &[(String, Run)]) -> String {
    let max = rows.iter().map(|(_, r)| r.p99_ms).fold(1.0_f64, f64::max);
    let min = rows.iter().map(|(_, r)| r.p50_ms).fold(f64::INFINITY, f64::min).clamp(0.01, max);
    let (lo, hi) = (min.log10().floor(), max.log10().ceil().max(min.log10().floor() + 1.0));
    let x = |ms: f64| LEFT + (ms.max(10f64.powf(lo)).log10() - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
    let height = 70.0 + ROW * rows.len() as f64;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" font-size="14" font-weight="bold">{}</text>
"##,
        escape(title)
    );
    let axis_y = height - 25.0;
    for decade in (lo as i32)..=(hi as i32) {
        let ms = 10f64.powi(decade);
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="30" x2="{0:.1}" y2="{axis_y}" stroke="#ddd"/><text x="{0:.1}" y="{1}" text-anchor="middle">{2} ms</text>"##,
            x(ms),
            axis_y + 15.0,
            ms
        );
    }
    for (i, (label, run)) in rows.iter().enumerate() {
        let y = 40.0 + ROW * i as f64;
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT_LABEL}" y="{ty:.1}" text-anchor="end">{label}</text>
<rect x="{x50:.1}" y="{y:.1}" width="{w:.1}" height="18" fill="#9ecae1"/>
<line x1="{x75:.1}" y1="{y:.1}" x2="{x75:.1}" y2="{y2:.1}" stroke="#3182bd"/><line x1="{x90:.1}" y1="{y:.1}" x2="{x90:.1}" y2="{y2:.1}" stroke="#3182bd"/>
<text x="{tx:.1}" y="{ty:.1}">p50 {p50:.2} · p99 {p99:.2} ms</text>"##,
            LEFT_LABEL = LEFT - 8.0,
            ty = y + 13.0,
            label = escape(label),
            x50 = x(run.p50_ms),
            w = (x(run.p99_ms) - x(run.p50_ms)).max(2.0),
            x75 = x(run.p75_ms),
            x90 = x(run.p90_ms),
            y2 = y + 18.0,
            tx = WIDTH - RIGHT + 16.0,
            p50 = run.p50_ms,
            p99 = run.p99_ms,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "")
}
