//! The latency distributions of a comparison side by side, as an SVG: one horizontal bar per configuration from
//! p50 to p99 on a log scale, with ticks at p50, p75, p90 and p99.

use svg::{
    Document,
    node::element::{Line, Rectangle, Text},
};

use super::wrk::Run;

const WIDTH: f64 = 920.0;
/// Room on the right for the p50/p99 labels.
const RIGHT: f64 = 210.0;
const LEFT: f64 = 330.0;
const ROW: f64 = 34.0;
const BAR: f64 = 18.0;

/// An SVG of `rows` (label, median run), titled `title`.
pub(super) fn latency(title: &str, rows: &[(String, Run)]) -> String {
    let max = rows.iter().map(|(_, r)| r.p99_ms).fold(1.0_f64, f64::max);
    let min = rows.iter().map(|(_, r)| r.p50_ms).fold(f64::INFINITY, f64::min).clamp(0.01, max);
    let (lo, hi) = (min.log10().floor(), max.log10().ceil().max(min.log10().floor() + 1.0));
    let x = |ms: f64| px(LEFT + (ms.max(10f64.powf(lo)).log10() - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT));
    let height = 70.0 + ROW * rows.len() as f64;
    let text = |content: String, x: f64, y: f64| Text::new(content).set("x", x).set("y", px(y));
    let line = |x: f64, y1: f64, y2: f64, stroke: &str| {
        Line::new().set("x1", x).set("y1", px(y1)).set("x2", x).set("y2", px(y2)).set("stroke", stroke)
    };
    // Titles and labels quote commands in Markdown backticks, which a picture would show as they are.
    let mut document = Document::new()
        .set("width", WIDTH)
        .set("height", height)
        .set("font-family", "sans-serif")
        .set("font-size", 12)
        .add(Rectangle::new().set("width", "100%").set("height", "100%").set("fill", "#fff"))
        .add(text(title.replace('`', ""), 10.0, 20.0).set("font-size", 14).set("font-weight", "bold"));
    let axis_y = height - 25.0;
    for decade in (lo as i32)..=(hi as i32) {
        let ms = 10f64.powi(decade);
        document = document
            .add(line(x(ms), 30.0, axis_y, "#ddd"))
            .add(text(format!("{ms} ms"), x(ms), axis_y + 15.0).set("text-anchor", "middle"));
    }
    for (i, (label, run)) in rows.iter().enumerate() {
        let y = 40.0 + ROW * i as f64;
        let bar = Rectangle::new()
            .set("x", x(run.p50_ms))
            .set("y", px(y))
            .set("width", px((x(run.p99_ms) - x(run.p50_ms)).max(2.0)))
            .set("height", BAR)
            .set("fill", "#9ecae1");
        let summary = format!("p50 {:.2} · p99 {:.2} ms", run.p50_ms, run.p99_ms);
        document = document
            .add(text(label.replace('`', ""), LEFT - 8.0, y + 13.0).set("text-anchor", "end"))
            .add(bar)
            .add(line(x(run.p75_ms), y, y + BAR, "#3182bd"))
            .add(line(x(run.p90_ms), y, y + BAR, "#3182bd"))
            .add(text(summary, WIDTH - RIGHT + 16.0, y + 13.0));
    }
    document.to_string() + "\n"
}

/// A coordinate to a tenth of a pixel, which keeps the file small.
fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::super::wrk::Run;

    #[test]
    fn one_bar_per_row_from_p50_to_p99_with_labels_escaped() {
        let run = |p50_ms| Run {
            rps: 1.0,
            p50_ms,
            p75_ms: p50_ms * 2.0,
            p90_ms: p50_ms * 3.0,
            p99_ms: p50_ms * 10.0,
            requests: 1,
            errors: 0,
        };
        let rows = [("`/count` <nginx> & app".to_owned(), run(0.5)), ("redis".to_owned(), run(2.0))];
        let svg = super::latency("p50 & p99", &rows);
        assert!(svg.contains("&lt;nginx&gt; &amp; app") && !svg.contains('`'), "{svg}");
        let bars = svg::read(&svg).unwrap().filter(|e| matches!(e, svg::parser::Event::Tag("rect", _, _))).count();
        assert_eq!(bars, 1 + rows.len(), "the background and one bar per row: {svg}");
        assert!(svg.contains("p50 0.50 · p99 5.00 ms") && svg.contains(">\n0.1 ms\n<"), "{svg}");
    }
}
