//! What a list of [`Record`]s says: counts by outcome, latency percentiles, and the live progress line.

use std::{
    collections::BTreeMap,
    io::Write,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use super::{Outcome, Record, Tally};

/// Counts and latencies of one run.
#[derive(Debug, Default)]
pub struct Summary {
    pub sent: u64,
    /// Extra sends after NGINX closed a connection unanswered (`sent` counts each request once).
    pub resent: u64,
    pub succeeded: u64,
    pub unavailable: u64,
    /// Every failure other than a 503, by [`Outcome::label`].
    pub failures: BTreeMap<String, u64>,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub elapsed: Duration,
}

impl Summary {
    pub fn of(records: &[Record], elapsed: Duration) -> Self {
        let mut s = Summary { sent: records.len() as u64, elapsed, ..Self::default() };
        for r in records {
            s.resent += u64::from(r.resent);
            match r.outcome {
                Outcome::Ok => s.succeeded += 1,
                Outcome::Status(503) => s.unavailable += 1,
                other => *s.failures.entry(other.label()).or_default() += 1,
            }
        }
        let mut latencies: Vec<Duration> = records.iter().map(|r| r.latency).collect();
        latencies.sort();
        s.p50 = percentile(&latencies, 0.50);
        s.p99 = percentile(&latencies, 0.99);
        s.max = latencies.last().copied().unwrap_or_default();
        s
    }

    /// Failures that are neither successes nor 503s.
    pub fn other_failures(&self) -> u64 {
        self.failures.values().sum()
    }

    pub fn json(&self) -> Value {
        json!({
            "sent": self.sent,
            "resent_after_unanswered_close": self.resent,
            "succeeded": self.succeeded,
            "unavailable_503": self.unavailable,
            "other_failures": self.failures,
            "latency_ms": { "p50": ms(self.p50), "p99": ms(self.p99), "max": ms(self.max) },
            "seconds": self.elapsed.as_secs_f64(),
        })
    }

    pub fn table(&self, url: &str) -> String {
        let failures = if self.failures.is_empty() {
            "none".to_owned()
        } else {
            self.failures.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
        };
        format!(
            "load on {url} for {:.1} s\n\
             sent            {} ({} sent again after NGINX closed the connection unanswered)\n\
             succeeded       {} ({:.0} req/s)\n\
             503             {}\n\
             other failures  {failures}\n\
             latency ms      p50 {:.2}  p99 {:.2}  max {:.2}",
            self.elapsed.as_secs_f64(),
            self.sent,
            self.resent,
            self.succeeded,
            self.succeeded as f64 / self.elapsed.as_secs_f64().max(0.001),
            self.unavailable,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
        )
    }
}

/// The value below which `q` of the sorted `values` fall (nearest rank); zero when empty.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// Rewrite one status line on stderr every 200 ms until aborted.
pub async fn progress(tally: Arc<Tally>, epoch: Instant, label: &'static str) {
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    loop {
        ticker.tick().await;
        eprint!("\r{}", line(&tally, epoch, label));
        let _ = std::io::stderr().flush();
    }
}

/// `label  t=1.2s  sent 100  ok 90  503 10  other 0`.
pub fn line(tally: &Tally, epoch: Instant, label: &str) -> String {
    format!(
        "{label:<14} t={:>5.1}s  sent {:>7}  ok {:>7}  503 {:>6}  other {:>4}   ",
        epoch.elapsed().as_secs_f64(),
        tally.sent.load(Ordering::SeqCst),
        tally.ok.load(Ordering::SeqCst),
        tally.unavailable.load(Ordering::SeqCst),
        tally.other.load(Ordering::SeqCst),
    )
}
