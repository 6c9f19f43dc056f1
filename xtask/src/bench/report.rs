//! Benchmark results as tables: printed as Markdown, and written as Markdown and JSON for docs/performance.md to link to.

use std::{fmt::Write as _, path::Path};

use procfs::Current as _;
use serde_json::json;

/// One comparison: rows measured side by side in one run.
pub(super) struct Table {
    pub title: String,
    /// The command that reproduces this table.
    pub command: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// What the numbers mean, in a sentence or two.
    pub notes: Vec<String>,
    /// An SVG picture of the table (latency distributions), written next to the report.
    pub chart: Option<String>,
}

impl Table {
    pub(super) fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n`{}`\n\n| {} |\n|", self.title, self.command, self.columns.join(" | "));
        out.push_str("---|");
        out.push_str(&"---:|".repeat(self.columns.len().saturating_sub(1)));
        out.push('\n');
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        for note in &self.notes {
            let _ = write!(out, "\n{note}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|row| {
                self.columns.iter().zip(row).map(|(c, v)| (c.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()
            })
            .collect();
        json!({ "title": self.title, "command": self.command, "rows": rows, "notes": self.notes })
    }
}

/// The machine a report was measured on, for its heading.
pub(super) fn machine() -> String {
    let cpuinfo = procfs::CpuInfo::current().ok();
    let cpu = cpuinfo.as_ref().and_then(|c| c.model_name(0)).unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|o| o.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned())))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {os}")
}

/// Write `<stem>.md`, `<stem>.json` and `<stem>-<n>.svg` for each table with a chart.
pub(super) fn write(stem: &Path, date: &str, tables: &[Table]) -> Result<(), String> {
    let machine = machine();
    let mut md = format!(
        "# Benchmarks\n\nMeasured {date} on {machine} by `cargo xtask bench`. Every table compares rows measured \
         alternately in one run, so read ratios, not absolute figures: load tool, NGINX, Redis and the replicas share \
         the same cores.\n\n"
    );
    for (i, table) in tables.iter().enumerate() {
        md.push_str(&table.markdown());
        if let Some(svg) = &table.chart {
            let file = format!("{}-{}.svg", stem.file_name().and_then(|n| n.to_str()).unwrap_or("bench"), i + 1);
            std::fs::write(stem.with_file_name(&file), svg).map_err(|e| format!("write chart: {e}"))?;
            let _ = write!(md, "\n![latency distribution: {}]({file})\n", table.title);
        }
        md.push('\n');
    }
    let json =
        json!({ "date": date, "machine": machine, "tables": tables.iter().map(Table::json).collect::<Vec<_>>() });
    std::fs::write(stem.with_extension("md"), md).map_err(|e| format!("write report: {e}"))?;
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(stem.with_extension("json"), text + "\n").map_err(|e| format!("write report: {e}"))
}
