//! The invariants of docs/load-and-chaos.md ("The verdict") checked on one scenario's records, and the verdict as a table row or JSON.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Event, EventKind, Scenario, Settings, probe::Answer};
use crate::{
    http,
    load::{
        Outcome, Record,
        summary::{Summary, ms, percentile},
    },
    wait,
};

/// One scenario, judged.
#[derive(Debug)]
pub struct Report {
    pub scenario: Scenario,
    pub cycles: usize,
    pub summary: Summary,
    /// How far the counter moved during the scenario.
    pub counted: i64,
    /// Successes the counter does not account for.
    pub lost: i64,
    /// Counts beyond the requests sent, plus numbers returned to two successes.
    pub double_counted: i64,
    /// Per Redis restart: from Redis answering PING to the first success (`None`: none before the next stop).
    pub recoveries: Vec<Option<Duration>>,
    /// Every broken invariant, in words; empty means the scenario passed.
    pub violations: Vec<String>,
    pub records: Vec<Record>,
    pub events: Vec<Event>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn judge(
        scenario: Scenario,
        settings: &Settings,
        records: Vec<Record>,
        events: Vec<Event>,
        answers: Vec<Answer>,
        counted: i64,
        ready_after: Option<bool>,
        rotation: bool,
        elapsed: Duration,
    ) -> Self {
        let summary = Summary::of(&records, elapsed);
        let mut v = Vec::new();
        let lost = (summary.succeeded as i64 - counted).max(0);
        let mut numbers: Vec<i64> = records.iter().filter_map(|r| r.count).collect();
        numbers.sort_unstable();
        let repeated = numbers.windows(2).filter(|w| w[0] == w[1]).count() as i64;
        // Extra sends (after NGINX closed a connection unread) do not raise the bound: they must not have counted.
        let sends = summary.sent as i64;
        let double_counted = (counted - sends).max(0) + repeated;
        if lost > 0 {
            v.push(format!("lost: counter moved by {counted} < {} successes", summary.succeeded));
        }
        if counted > sends {
            v.push(format!("double counted: counter moved by {counted} > {sends} sent"));
        }
        if repeated > 0 {
            v.push(format!("{repeated} successes returned a number another success had"));
        }
        let recoveries = recoveries(&records, &events);
        match scenario {
            Scenario::RedisTerm | Scenario::RedisKill => {
                if summary.other_failures() > 0 {
                    v.push(format!("failures other than 503 during Redis outages: {:?}", summary.failures));
                }
                // Only here: with a replica stopped, a request may wait out a lost SYN (1 s) before NGINX connects
                // elsewhere; the client timeout (bound + 1 s) still turns a hang there into a failure.
                let slow = records.iter().filter(|r| r.latency > settings.bound).count();
                if slow > 0 {
                    v.push(format!("{slow} requests took longer than the bound of {} ms", settings.bound.as_millis()));
                }
                for (cycle, r) in recoveries.iter().enumerate() {
                    match r {
                        None => v.push(format!("cycle {}: no success after Redis came back", cycle + 1)),
                        Some(d) if *d > settings.recovery_target => v.push(format!(
                            "cycle {}: recovery {} ms > target {} ms",
                            cycle + 1,
                            d.as_millis(),
                            settings.recovery_target.as_millis()
                        )),
                        Some(_) => {}
                    }
                }
                v.extend(health(&answers, &events));
                if ready_after == Some(false) {
                    v.push("/readyz did not answer 200 on every replica after the last restart".into());
                }
            }
            Scenario::Rolling if rotation => {
                let failed = summary.other_failures();
                if failed > 0 {
                    v.push(format!("rolling restart: {failed} failed requests ({:?})", summary.failures));
                }
                // Nothing but a success or a 503 (load shedding) may have counted: in particular not the first
                // send of a request sent again after NGINX closed its connection unanswered.
                let answered = (summary.succeeded + summary.unavailable) as i64;
                if counted > answered {
                    v.push(format!(
                        "rolling restart: counter moved by {counted} > {answered} successes and 503s ({} sent again)",
                        summary.resent
                    ));
                }
            }
            // 503s are not counted against replica faults: with Redis up they are load shedding (an INCR slower
            // than REDIS_TIMEOUT_MS on two saturated cores), seen at times unrelated to the stops.
            // Without a way to take a replica out of the balancer first (compose), a rolling restart is a
            // sequence of graceful stops, and costs what a kill costs at most.
            Scenario::ReplicaKill | Scenario::Rolling => {
                if summary.failures.keys().any(|k| k != "502") {
                    v.push(format!("a killed replica may only cost 502s: {:?}", summary.failures));
                }
                let stops = events.iter().filter(|e| matches!(e.kind, EventKind::Stop(_))).count();
                let bound = (stops * settings.concurrency) as u64;
                if summary.other_failures() > bound {
                    v.push(format!("{} failed > {bound} (one batch in flight per stop)", summary.other_failures()));
                }
            }
        }
        let cycles = settings.cycles;
        Self { scenario, cycles, summary, counted, lost, double_counted, recoveries, violations: v, records, events }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    fn recovery_stats(&self) -> Option<(Duration, Duration)> {
        let mut known: Vec<Duration> = self.recoveries.iter().flatten().copied().collect();
        known.sort();
        known.last().map(|max| (percentile(&known, 0.5), *max))
    }

    pub fn json(&self) -> Value {
        let s = &self.summary;
        json!({
            "scenario": self.scenario.name(),
            "cycles": self.cycles,
            "load": s.json(),
            "counter_moved": self.counted,
            "lost": self.lost,
            "counted_not_acknowledged": (self.counted - self.summary.succeeded as i64).max(0),
            "double_counted": self.double_counted,
            "recovery_ms": self.recoveries.iter().map(|r| r.map(ms)).collect::<Vec<_>>(),
            "events": self.events.iter().map(|e| json!({
                "at_ms": ms(e.at),
                "target": e.target,
                "what": format!("{:?}", e.kind),
            })).collect::<Vec<_>>(),
            "passed": self.passed(),
            "violations": self.violations,
        })
    }

    /// A Markdown table row; see [`table_header`].
    pub fn row(&self) -> String {
        let s = &self.summary;
        let recovery =
            self.recovery_stats().map_or("–".into(), |(p50, max)| format!("{:.1} / {:.1}", ms(p50), ms(max)));
        let others = if s.failures.is_empty() {
            "0".to_owned()
        } else {
            s.failures.iter().map(|(k, n)| format!("{n} ({k})")).collect::<Vec<_>>().join(", ")
        };
        format!(
            "| {} | {} | {} | {} | {} | {others} | {} | {} | {} | {recovery} | {} |",
            self.scenario.name(),
            self.cycles,
            s.sent,
            s.succeeded,
            s.unavailable,
            self.lost,
            self.double_counted,
            (self.counted - s.succeeded as i64).max(0),
            if self.passed() { "pass" } else { "FAIL" }
        )
    }
}

pub fn table_header() -> &'static str {
    "| scenario | cycles | sent | succeeded | 503 | other failures | lost | double counted | counted, not acked \
     | recovery ms p50 / max | verdict |\n|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"
}

/// Per Redis `Up` mark: the time to the first success ending after it (`None` if none ended before the next stop).
fn recoveries(records: &[Record], events: &[Event]) -> Vec<Option<Duration>> {
    let redis: Vec<&Event> = events.iter().filter(|e| e.target == "redis").collect();
    let ups = redis.iter().enumerate().filter(|(_, e)| e.kind == EventKind::Up);
    ups.map(|(i, up)| {
        let next_stop = redis[i..].iter().find(|e| matches!(e.kind, EventKind::Stop(_))).map(|e| e.at);
        let first = records
            .iter()
            .filter(|r| r.outcome == Outcome::Ok && r.end() >= up.at && next_stop.is_none_or(|s| r.end() < s))
            .map(Record::end)
            .min();
        first.map(|end| end - up.at)
    })
    .collect()
}

/// `/healthz` 200 on every answer; `/readyz`, where probed, 503 at least once while Redis was down, in every cycle.
fn health(answers: &[Answer], events: &[Event]) -> Vec<String> {
    let mut v = Vec::new();
    let unhealthy = answers.iter().filter(|a| a.path == "/healthz" && a.status != 200).count();
    if unhealthy > 0 {
        v.push(format!("/healthz answered something other than 200 {unhealthy} times"));
    }
    if !answers.iter().any(|a| a.path == "/readyz") {
        return v;
    }
    let downs = events.iter().filter(|e| e.target == "redis" && e.kind == EventKind::Down);
    for (cycle, down) in downs.enumerate() {
        // Until Redis answers PING again: a probe sent while it was still starting saw it down too.
        let up = events.iter().find(|e| e.target == "redis" && e.kind == EventKind::Up && e.at >= down.at);
        let until = up.map_or(Duration::MAX, |e| e.at);
        let in_outage = |a: &&Answer| a.path == "/readyz" && a.at > down.at && a.at < until;
        if !answers.iter().filter(in_outage).any(|a| a.status == 503) {
            v.push(format!("cycle {}: /readyz never answered 503 while Redis was down", cycle + 1));
        }
    }
    v
}

/// Whether `/readyz` answers 200 on every port within a few seconds.
pub fn ready_again(ports: &[u16]) -> bool {
    let ready = |port: u16| http::get(port, "/readyz").is_ok_and(|(s, _)| s == 200);
    wait::until("/readyz 200 everywhere", Duration::from_secs(5), || ports.iter().all(|&p| ready(p))).is_ok()
}
