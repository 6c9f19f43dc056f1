//! Load for as long as it is wanted (the compose `load` service, `cargo xtask load --every`): no record is kept; a
//! one-line summary every interval (sent, by status, p50/p99 of that interval), a last one at the end (the run's
//! counts by status), and the verdict: anything but 200, 404 or 503 fails the run. SIGTERM and SIGINT end it like its deadline does (requests in
//! flight finish). A heartbeat file says when the last answer came, for a container healthcheck ([`healthy`]).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{Outcome, Plan, Record, Tally, TraceContext, feed, summary::ms, summary::percentile};

/// How a reporting run goes on besides its plan.
#[derive(Clone, Debug)]
pub struct Reporting {
    /// A summary line this often.
    pub every: Duration,
    /// Written (at most once a second) with the time of the latest HTTP answer.
    pub heartbeat: Option<PathBuf>,
}

/// `200`, `404`, …, `connect`, `timeout`, `other`.
fn status(outcome: Outcome) -> String {
    if outcome == Outcome::Ok { "200".into() } else { outcome.label() }
}

/// Counts by status and latencies of one interval, or counts of the whole run (latencies cleared each interval).
#[derive(Debug, Default)]
pub struct Window {
    pub sent: u64,
    pub by_status: BTreeMap<String, u64>,
    latencies: Vec<Duration>,
    /// The latest traced request answered 200: a trace to look up in Jaeger.
    pub sample: Option<TraceContext>,
}

impl Window {
    /// Count `record`, and keep its latency for this interval's percentiles.
    fn add(&mut self, record: &Record) {
        self.count(record);
        self.latencies.push(record.latency);
    }

    /// Count `record` only (the whole run's window: its memory stays bounded however long the run).
    fn count(&mut self, record: &Record) {
        self.sent += 1;
        *self.by_status.entry(status(record.outcome)).or_default() += 1;
        if record.outcome == Outcome::Ok && record.trace.is_some() {
            self.sample = record.trace;
        }
    }

    /// Answers other than 200, 404 and 503, by status.
    pub fn unexpected(&self) -> BTreeMap<String, u64> {
        let fine = ["200", "404", "503"];
        self.by_status.iter().filter(|(s, _)| !fine.contains(&s.as_str())).map(|(s, n)| (s.clone(), *n)).collect()
    }

    /// `sent 300: 200 268, 404 32`.
    pub fn counts(&self) -> String {
        let statuses: Vec<String> = self.by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
        format!("sent {}: {}", self.sent, if statuses.is_empty() { "none".into() } else { statuses.join(", ") })
    }

    /// `sent 300: 200 268, 404 32; p50 2.31 ms, p99 9.87 ms`.
    pub fn line(&mut self) -> String {
        self.latencies.sort();
        format!(
            "{}; p50 {:.2} ms, p99 {:.2} ms",
            self.counts(),
            ms(percentile(&self.latencies, 0.50)),
            ms(percentile(&self.latencies, 0.99)),
        )
    }
}

/// What a reporting run saw in all.
#[derive(Debug, Default)]
pub struct Totals {
    pub run: Window,
    pub elapsed: Duration,
}

impl Totals {
    /// `Err` naming the answers other than 200/404/503, if any came back.
    pub fn verdict(&self) -> Result<(), String> {
        let unexpected = self.run.unexpected();
        if unexpected.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = unexpected.iter().map(|(s, n)| format!("{s} {n}")).collect();
        Err(format!("{} answers other than 200, 404 or 503: {}", unexpected.values().sum::<u64>(), list.join(", ")))
    }
}

/// Run `plan` on a runtime of its own, printing a summary line every `reporting.every` and a last one at the end.
pub fn run(plan: &Plan, reporting: &Reporting) -> Result<Totals, String> {
    let runtime = super::runtime()?;
    let tally = Arc::new(Tally::default());
    let epoch = Instant::now();
    let state = Arc::new(Mutex::new((Window::default(), Window::default())));
    println!("load: {}; a summary every {} s", describe(plan), reporting.every.as_secs());
    let run = runtime.block_on(async {
        // Registered before the first request, so a signal from then on is never lost.
        let signals = tokio::spawn(stop_on_signal(signals()?, tally.clone()));
        let ticker = tokio::spawn(every(reporting.every, epoch, state.clone()));
        let mut beat = Heartbeat { path: reporting.heartbeat.clone(), written: None };
        let mut first_traced = true;
        let fed = feed(plan, epoch, tally.clone(), |record| {
            if let Some(trace) = record.trace.filter(|_| first_traced && record.outcome == Outcome::Ok) {
                first_traced = false;
                println!("load: first traced request answered 200, traceparent {trace}");
            }
            if matches!(record.outcome, Outcome::Ok | Outcome::Status(_)) {
                beat.answered();
            }
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            state.0.add(&record);
            state.1.count(&record);
        })
        .await;
        ticker.abort();
        signals.abort();
        fed
    });
    run?;
    let (_, total) = std::mem::take(&mut *state.lock().unwrap_or_else(|e| e.into_inner()));
    let elapsed = epoch.elapsed();
    let unexpected: u64 = total.unexpected().values().sum();
    println!("load: done after {:.1} s, {}; unexpected {unexpected}", elapsed.as_secs_f64(), total.counts());
    Ok(Totals { run: total, elapsed })
}

/// `sending to http://nginx:5002 (/count 6, / 3), 5 req/s over 2 connections, 50% traced, until stopped`.
fn describe(plan: &Plan) -> String {
    let paths: Vec<String> = plan.mix.paths.iter().map(|(p, w)| format!("{p} {w}")).collect();
    let mix = if paths.is_empty() { String::new() } else { format!(" ({})", paths.join(", ")) };
    let rate = plan.rate.map_or("as fast as answers come".into(), |r| format!("{r} req/s"));
    let until = if plan.duration >= super::UNTIL_STOPPED {
        "until stopped".into()
    } else {
        format!("for {} s", plan.duration.as_secs())
    };
    format!(
        "sending to {}{mix}, {rate} over {} connections, {}% traced, Accept {:?}, {until}",
        plan.url, plan.concurrency, plan.mix.traced_percent, plan.mix.accept
    )
}

/// Print the interval's line and start a new interval, every `period`.
async fn every(period: Duration, epoch: Instant, state: Arc<Mutex<(Window, Window)>>) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticker.tick().await;
        let (mut window, total) = {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut state.0), (state.1.sent, state.1.unexpected().values().sum::<u64>()))
        };
        let sample = window.sample.map(|t| format!("; trace {}", t.trace_hex())).unwrap_or_default();
        println!(
            "load: t={:.0}s last {:.0}s {}; run: sent {}, unexpected {}{sample}",
            epoch.elapsed().as_secs_f64(),
            period.as_secs_f64(),
            window.line(),
            total.0,
            total.1,
        );
    }
}

/// SIGTERM (`docker stop`) and SIGINT (Ctrl-C), handled: as PID 1 of a container the process has no default action
/// for SIGTERM, and without this `docker stop` would wait for its timeout and SIGKILL.
fn signals() -> Result<[tokio::signal::unix::Signal; 2], String> {
    use tokio::signal::unix::{SignalKind, signal};
    let handle = |kind| signal(kind).map_err(|e| format!("signal handler: {e}"));
    Ok([handle(SignalKind::terminate())?, handle(SignalKind::interrupt())?])
}

/// Stop sending on the first of `signals` (requests in flight finish).
async fn stop_on_signal([mut term, mut int]: [tokio::signal::unix::Signal; 2], tally: Arc<Tally>) {
    tokio::select! {
        _ = term.recv() => println!("load: SIGTERM, finishing the requests in flight"),
        _ = int.recv() => println!("load: SIGINT, finishing the requests in flight"),
    }
    tally.stop();
}

/// The heartbeat file: the unix time of the latest answer, rewritten at most once a second.
struct Heartbeat {
    path: Option<PathBuf>,
    written: Option<Instant>,
}

impl Heartbeat {
    fn answered(&mut self) {
        let Some(path) = &self.path else { return };
        if self.written.is_some_and(|w| w.elapsed() < Duration::from_secs(1)) {
            return;
        }
        self.written = Some(Instant::now());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if let Err(e) = std::fs::write(path, format!("{now}\n")) {
            eprintln!("load: heartbeat {}: {e}", path.display());
        }
    }
}

/// `Ok` (a line saying how long ago) when the heartbeat at `path` names an answer within `within`.
pub fn healthy(path: &Path, within: Duration) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("no answer yet ({}: {e})", path.display()))?;
    let then: u64 = text.trim().parse().map_err(|e| format!("{}: {text:?}: {e}", path.display()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let ago = Duration::from_secs(now.saturating_sub(then));
    if ago <= within {
        Ok(format!("last answer {}s ago", ago.as_secs()))
    } else {
        Err(format!("last answer {}s ago, more than {}s", ago.as_secs(), within.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, latency_ms: u64) -> Record {
        let latency = Duration::from_millis(latency_ms);
        Record { start: Duration::ZERO, latency, outcome, count: None, resent: 0, trace: None }
    }

    #[test]
    fn only_200_404_and_503_pass_the_verdict() {
        let mut totals = Totals::default();
        for outcome in [Outcome::Ok, Outcome::Status(404), Outcome::Status(503)] {
            totals.run.add(&record(outcome, 1));
        }
        assert!(totals.verdict().is_ok());
        totals.run.add(&record(Outcome::Status(502), 1));
        totals.run.add(&record(Outcome::Timeout, 1));
        assert_eq!(totals.verdict().unwrap_err(), "2 answers other than 200, 404 or 503: 502 1, timeout 1");
    }

    #[test]
    fn the_line_has_sent_statuses_and_percentiles() {
        let mut window = Window::default();
        for ms in 1..=100 {
            window.add(&record(if ms % 10 == 0 { Outcome::Status(404) } else { Outcome::Ok }, ms));
        }
        assert_eq!(window.line(), "sent 100: 200 90, 404 10; p50 50.00 ms, p99 99.00 ms");
        assert_eq!(Window::default().line(), "sent 0: none; p50 0.00 ms, p99 0.00 ms");
    }

    #[test]
    fn the_heartbeat_is_fresh_stale_or_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heartbeat");
        assert!(healthy(&path, Duration::from_secs(30)).unwrap_err().starts_with("no answer yet"));
        let mut beat = Heartbeat { path: Some(path.clone()), written: None };
        beat.answered();
        assert!(healthy(&path, Duration::from_secs(30)).is_ok());
        let old = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 100;
        std::fs::write(&path, format!("{old}\n")).unwrap();
        assert!(healthy(&path, Duration::from_secs(30)).unwrap_err().contains("more than 30s"));
    }
}
