//! The figures the suites of one run hand on ([`Figures`]), and the table that sets them against the targets of
//! issue 18 (tracing every request at a fraction of its cost): every ratio from this run's own rows, never from
//! another run.

use std::{cell::RefCell, collections::BTreeMap};

use super::report::Table;

/// One figure a suite measured, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Figure {
    /// Instructions per `/count`, telemetry off, the request line on stdout.
    InstructionsOff,
    /// The same without the request line (`LOG_REQUESTS=otlp`).
    InstructionsOffNoLine,
    /// Every request traced, the request line on stdout.
    InstructionsTraced,
    /// Compose as shipped: every request traced, the line an OTLP record only.
    InstructionsCompose,
    /// req/s of `/count` through NGINX on the twin, every request traced.
    NginxTraced,
    /// The same with telemetry off.
    NginxOff,
    /// req/s of `/count` through NGINX on the shipped compose stack.
    ComposeOurs,
    /// The same on the Flask peer.
    ComposePeer,
}

/// What the suites of this run measured, for [`table`].
#[derive(Debug, Default)]
pub(crate) struct Figures(RefCell<BTreeMap<Figure, f64>>);

impl Figures {
    pub(super) fn record(&self, figure: Figure, value: f64) {
        self.0.borrow_mut().insert(figure, value);
    }

    fn get(&self, figure: Figure) -> Option<f64> {
        self.0.borrow().get(&figure).copied()
    }

    /// `a / b` when both were measured.
    fn ratio(&self, a: Figure, b: Figure) -> Option<f64> {
        Some(self.get(a)? / self.get(b)?.max(1e-9))
    }
}

/// One row: the target, what this run measured, and whether it is met; "not measured" when its suite did not run.
fn row(target: &str, measured: Option<(String, bool)>) -> Vec<String> {
    let (figure, verdict) = match measured {
        Some((figure, met)) => (figure, if met { "met" } else { "**missed**" }),
        None => ("not measured in this run (its suite was left out)".to_owned(), ""),
    };
    vec![target.to_owned(), figure, verdict.to_owned()]
}

/// The targets against this run's figures (`None` when no suite that feeds one ran).
pub(super) fn table(figures: &Figures, command: String) -> Option<Table> {
    if figures.0.borrow().is_empty() {
        return None;
    }
    let count = |f: Figure| figures.get(f).map(|v| format!("{v:.0}"));
    let rows = vec![
        row(
            "an untraced `/count` ≤ 60,000 instructions, request line on stdout",
            count(Figure::InstructionsOff).map(|v| (v, figures.get(Figure::InstructionsOff) <= Some(60_000.0))),
        ),
        row(
            "an untraced `/count` ≤ 60,000 instructions, request line off stdout (`LOG_REQUESTS=otlp`)",
            count(Figure::InstructionsOffNoLine)
                .map(|v| (v, figures.get(Figure::InstructionsOffNoLine) <= Some(60_000.0))),
        ),
        row(
            "a traced `/count` ≤ 1.5× an untraced one, request line on stdout in both",
            figures.ratio(Figure::InstructionsTraced, Figure::InstructionsOff).map(|r| (format!("{r:.2}×"), r <= 1.5)),
        ),
        row(
            "a traced `/count` ≤ 1.5× an untraced one, compose's log settings in both (`LOG_REQUESTS=otlp`)",
            figures
                .ratio(Figure::InstructionsCompose, Figure::InstructionsOffNoLine)
                .map(|r| (format!("{r:.2}×"), r <= 1.5)),
        ),
        row(
            "`/count` via NGINX (twin), every request traced ≥ 0.75 of telemetry off",
            figures.ratio(Figure::NginxTraced, Figure::NginxOff).map(|r| (format!("{r:.2}"), r >= 0.75)),
        ),
        row(
            "the compose stack as shipped ≥ 3× the Flask peer on the same engine",
            figures.ratio(Figure::ComposeOurs, Figure::ComposePeer).map(|r| (format!("{r:.2}×"), r >= 3.0)),
        ),
    ];
    Some(Table {
        title: "Targets of tracing every request (issue 18), from this run's rows".into(),
        command,
        columns: vec!["target", "measured", ""],
        rows,
        notes: vec![
            "Instructions from the `instructions` table (callgrind, one replica); the NGINX ratio from the \
             `proxy` throughput table (first row over the telemetry-off row); the compose ratio from the `compose` \
             table. Why a missed target is missed, and where the instructions go: docs/profile.md."
                .into(),
        ],
        chart: None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Figure, Figures, table};

    #[test]
    fn each_target_is_judged_from_the_figures_of_the_run() {
        let figures = Figures::default();
        assert!(table(&figures, String::new()).is_none(), "no suite ran: no table");
        figures.record(Figure::InstructionsOff, 80_000.0);
        figures.record(Figure::InstructionsOffNoLine, 59_000.0);
        figures.record(Figure::InstructionsTraced, 200_000.0);
        figures.record(Figure::InstructionsCompose, 88_000.0);
        figures.record(Figure::NginxTraced, 7_000.0);
        figures.record(Figure::NginxOff, 10_000.0);
        let rows = table(&figures, String::new()).expect("a table").rows;
        let verdicts: Vec<(&str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[2].as_str())).collect();
        assert_eq!(
            verdicts,
            [
                ("80000", "**missed**"),
                ("59000", "met"),
                ("2.50×", "**missed**"),
                ("1.49×", "met"),
                ("0.70", "**missed**"),
                ("not measured in this run (its suite was left out)", ""),
            ]
        );
    }
}
